/* rows.h: column tables: an entity's one description gives its select list, its C struct, the
 * filling of that struct from a result, and its JSON. */
#ifndef MEDIAD_ROWS_H
#define MEDIAD_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct db;
struct json_object;
struct params;
struct pg_result;

/*
 * An entity writes its columns once, as a list macro NAME_COLUMNS(FIRST, COL), in select-list order:
 *     FIRST(field, type, sql, key, null)  the first column
 *     COL(field, type, sql, key, null)    each of the others
 * (two names because the preprocessor cannot drop a trailing comma: the first column is the one
 * without ", " before it). The arguments:
 *   field  the member of the entity's struct (ROW_STRUCT), or just a name when it has none;
 *   type   ROW_INT (int64_t), ROW_NUM(int) or ROW_NUM(long long) (a number of that C type),
 *          ROW_BOOL (bool), ROW_STR(n) (char[n], NUL-terminated, cut to fit), or ROW_TEXT (any
 *          length: only in the tables of entities without a struct);
 *   sql    the select expression (a string literal);
 *   key    the JSON member, or NULL when the JSON does not show the column;
 *   null   ROW_NOTNULL, or for a column that may be SQL NULL ROW_NULL(none) (numbers) or
 *          ROW_NULL_EMPTY (strings). In a struct, SQL NULL reads as none or ""; and a struct value
 *          <= none, or "", is written to JSON as null (and bound as NULL by params_int_or_null and
 *          params_str_or_null).
 * From the list:
 *   ROW_SELECT(list)     the select list, for the statement tables;
 *   ROW_STRUCT(list)     the members of the entity's struct;
 *   ROW_JSON_COLS(list)  the initialiser of the struct row_col table of an entity without a struct
 *                        (its rows go straight to JSON).
 * An entity with a struct S binds S first, and its table is then
 *   #define MEDIA_COL(...) ROW_COL(struct media, __VA_ARGS__)
 *   static const struct row_col media_cols[] = { MEDIA_COLUMNS(MEDIA_COL, MEDIA_COL) };
 */
#define ROW_INT ROW_NUM(int64_t)
#define ROW_NUM(ctype) (ctype, , COL_INT)
#define ROW_BOOL (bool, , COL_BOOL)
#define ROW_STR(n) (char, [n], COL_STR)
#define ROW_TEXT (void, , COL_STR) /* a struct member of type void does not compile: on purpose */
#define ROW_NOTNULL (false, 0)
#define ROW_NULL(none) (true, none)
#define ROW_NULL_EMPTY (true, 0) /* strings: "" is NULL */

#define ROW_SELECT(list) list(ROW_SQL_FIRST_, ROW_SQL_NEXT_)
#define ROW_STRUCT(list) list(ROW_MEMBER_, ROW_MEMBER_)
#define ROW_JSON_COLS(list) list(ROW_JSON_COL_, ROW_JSON_COL_)
#define ROW_COL(S, field, type, sql, key, null) \
	{ key, ROW_T3_ type, offsetof(S, field), sizeof(((S *)0)->field), ROW_N1_ null, ROW_N2_ null },

/* The machinery: a type is the tuple (C type, array suffix, enum col_type), a null spec the pair
 * (nullable, none); ROW_T*_ and ROW_N*_ pick an element. */
#define ROW_T1_(ctype, dim, kind) ctype
#define ROW_T2_(ctype, dim, kind) dim
#define ROW_T3_(ctype, dim, kind) kind
#define ROW_N1_(nullable, none) nullable
#define ROW_N2_(nullable, none) none
#define ROW_SQL_FIRST_(field, type, sql, key, null) sql
#define ROW_SQL_NEXT_(field, type, sql, key, null) ", " sql
#define ROW_MEMBER_(field, type, sql, key, null) ROW_T1_ type field ROW_T2_ type;
#define ROW_JSON_COL_(field, type, sql, key, null) { key, ROW_T3_ type, 0, 0, ROW_N1_ null, ROW_N2_ null },

enum col_type {
	COL_INT,  /* int or a 64-bit integer (by size); JSON number */
	COL_STR,  /* char[size]; JSON string */
	COL_BOOL, /* bool; JSON true/false */
};

/* One column, as ROW_COL or ROW_JSON_COLS writes it. */
struct row_col {
	const char *key; /* JSON member; NULL: not shown */
	enum col_type type;
	size_t off, size; /* the struct member (0, 0 without a struct) */
	bool nullable;
	int64_t none; /* nullable numbers: what SQL NULL reads as, and the largest value written as null */
};

/* A table and its length, for the functions below. */
struct row_table {
	const struct row_col *cols;
	int n;
};
/* clang-format off */
#define ROW_TABLE(cols) { (cols), (int)(sizeof(cols) / sizeof((cols)[0])) }
/* clang-format on */

/* db_exec with p's parameters: the result (caller PQclears it), or NULL and *err. */
struct pg_result *row_exec(struct db *db, const char *stmt, const struct params *p, enum merr *err);
/*
 * Runs stmt with p; its single row is in *out (caller PQclears it). No row is MERR_NOT_FOUND (*out
 * untouched); a database failure is its error as db_exec reports it.
 */
enum merr row_exec_one(struct db *db, const char *stmt, const struct params *p, struct pg_result **out)
        __attribute__((warn_unused_result));
/* Runs stmt with p for its effect: MERR_OK, or its error as db_exec reports it. */
enum merr row_run(struct db *db, const char *stmt, const struct params *p)
        __attribute__((warn_unused_result));
/* Fills the struct at row from row i of r, whose first columns are t's. */
void row_fill(void *row, const struct row_table *t, struct pg_result *r, int i);
/* The JSON object of a struct that row_fill filled. Caller owns it; NULL on out of memory. */
struct json_object *row_json(const void *row, const struct row_table *t);
/* The JSON object of row i of r, for entities without a struct: SQL NULL is null. Columns of r
 * after t's are left out. Caller owns it; NULL on out of memory. */
struct json_object *row_json_result(struct pg_result *r, int i, const struct row_table *t);

/*
 * Runs stmt with p and fills the struct at row from its single row. No row is MERR_NOT_FOUND (row
 * untouched); a database failure is its error as db_exec reports it.
 */
enum merr row_one(struct db *db, const char *stmt, const struct params *p, const struct row_table *t,
                  void *row) __attribute__((warn_unused_result));
/* row_one, into a JSON object (*out, caller owns it) instead of a struct. */
enum merr row_one_json(struct db *db, const char *stmt, const struct params *p, const struct row_table *t,
                       struct json_object **out) __attribute__((warn_unused_result));
/*
 * A page of rows: runs list_stmt with p into a JSON array of rows (*items), and count_stmt with the
 * first ncount parameters of p for the total. Caller owns *items on MERR_OK; nothing is left on
 * failure.
 */
enum merr row_list_json(struct db *db, const char *list_stmt, const char *count_stmt, int ncount,
                        const struct params *p, const struct row_table *t, struct json_object **items,
                        int64_t *total) __attribute__((warn_unused_result));
/* Adds to o, the object of row i of r, what r holds from column first on (the columns a list
 * statement selects after its table's). False on out of memory. */
typedef bool row_extra_fn(struct json_object *o, struct pg_result *r, int i, int first);
/* row_list_json for a list statement that selects more columns after t's: extra (NULL: none) puts
 * them into each row's object. */
enum merr row_list_json_with(struct db *db, const char *list_stmt, const char *count_stmt, int ncount,
                             const struct params *p, const struct row_table *t, row_extra_fn *extra,
                             struct json_object **items, int64_t *total) __attribute__((warn_unused_result));

#endif
