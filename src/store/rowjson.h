/* rowjson.h: one result row to a JSON object, driven by a table of column specs. */
#ifndef MEDIAD_ROWJSON_H
#define MEDIAD_ROWJSON_H

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

#endif
