/* rowjson.c: result rows to JSON without per-entity glue code. */
#include "config.h"

#include "store/rowjson.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include "store/db.h"

struct json_object *rowjson(PGresult *r, int row, const struct col_spec *specs, int n)
{
	struct json_object *o = json_object_new_object();
	int i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		struct json_object *v = NULL;
		const char *s = PQgetvalue(r, row, i);

		if (!PQgetisnull(r, row, i)) {
			switch (specs[i].type) {
			case COL_INT:
				v = json_object_new_int64(strtoll(s, NULL, 10));
				break;
			case COL_STR:
				v = json_object_new_string_len(s, PQgetlength(r, row, i));
				break;
			case COL_BOOL:
				v = json_object_new_boolean(s[0] == 't');
				break;
			}
			if (v == NULL) {
				json_object_put(o);
				return NULL;
			}
		}
		if (json_object_object_add(o, specs[i].key, v) != 0) {
			json_object_put(v);
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

struct json_object *rowjson_array(PGresult *r, const struct col_spec *specs, int n)
{
	struct json_object *a = json_object_new_array_ext(PQntuples(r));
	int row;

	if (a == NULL)
		return NULL;
	for (row = 0; row < PQntuples(r); row++) {
		struct json_object *o = rowjson(r, row, specs, n);

		if (o == NULL || json_object_array_add(a, o) != 0) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

enum merr rowjson_list(struct db *db, const char *list_stmt, int nlist, const char *count_stmt, int ncount,
                       const char *const *params, const struct col_spec *specs, int nspecs,
                       struct json_object **items, int64_t *total)
{
	enum merr err;
	PGresult *r = db_exec(db, list_stmt, nlist, params, &err);

	if (r == NULL)
		return err;
	*items = rowjson_array(r, specs, nspecs);
	PQclear(r);
	if (*items == NULL)
		return MERR_INTERNAL;
	r = db_exec(db, count_stmt, ncount, params, &err);
	if (r == NULL) {
		json_object_put(*items);
		*items = NULL;
		return err;
	}
	*total = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return MERR_OK;
}

enum merr rowjson_one(struct db *db, const char *stmt, int n, const char *const *params,
                      const struct col_spec *specs, int nspecs, struct json_object **out)
{
	enum merr err;
	PGresult *r = db_exec(db, stmt, n, params, &err);

	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return MERR_NOT_FOUND;
	}
	*out = rowjson(r, 0, specs, nspecs);
	PQclear(r);
	return *out ? MERR_OK : MERR_INTERNAL;
}
