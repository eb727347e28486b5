/* rowjson.h: one result row to a JSON object, driven by a table of column specs. */
#ifndef MEDIAD_ROWJSON_H
#define MEDIAD_ROWJSON_H

#include <stdint.h>

#include "core/err.h"

struct db;
struct json_object;
struct pg_result;

enum col_type {
	COL_INT,  /* bigint/integer -> number; SQL NULL -> null */
	COL_STR,  /* text -> string; SQL NULL -> null */
	COL_BOOL, /* boolean -> true/false */
};

struct col_spec {
	const char *key; /* JSON member name; the column is the spec's index in the result */
	enum col_type type;
};

/* Builds {key: value, ...} from row of r; column i is specs[i]. Returns NULL on out of memory. */
struct json_object *rowjson(struct pg_result *r, int row, const struct col_spec *specs, int n);
/* Builds an array of every row of r. Returns NULL on out of memory. */
struct json_object *rowjson_array(struct pg_result *r, const struct col_spec *specs, int n);

/*
 * Runs stmt with params[0..n) and turns its single row into *out (caller owns it). No row is
 * MERR_NOT_FOUND; a database failure is its error as db_exec reports it.
 */
enum merr rowjson_one(struct db *db, const char *stmt, int n, const char *const *params,
                      const struct col_spec *specs, int nspecs, struct json_object **out);
/*
 * A paginated list: runs list_stmt with params[0..nlist) into an array of rows, and count_stmt with
 * the first ncount of the same params for the total. Caller owns *items on MERR_OK.
 */
enum merr rowjson_list(struct db *db, const char *list_stmt, int nlist, const char *count_stmt, int ncount,
                       const char *const *params, const struct col_spec *specs, int nspecs,
                       struct json_object **items, int64_t *total);

#endif
