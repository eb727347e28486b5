/* rows.c: result rows to structs and JSON, driven by each entity's column table (rows.h). */
#include "config.h"

#include "store/rows.h"

#include <assert.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/params.h"

/* Numbers in structs are int, or 64 bits wide (int64_t, long long). */
static void put_num(void *dst, size_t size, int64_t v)
{
	int small = (int)v;

	assert(size == sizeof(int) || size == sizeof(int64_t));
	if (size == sizeof(int))
		memcpy(dst, &small, sizeof(small));
	else
		memcpy(dst, &v, sizeof(v));
}

static int64_t get_num(const void *src, size_t size)
{
	int64_t v;
	int small;

	assert(size == sizeof(int) || size == sizeof(int64_t));
	if (size == sizeof(int)) {
		memcpy(&small, src, sizeof(small));
		return small;
	}
	memcpy(&v, src, sizeof(v));
	return v;
}

void row_fill(void *row, const struct row_table *t, PGresult *r, int i)
{
	int k;

	/* The select lists come from the same tables (ROW_SELECT): a mismatch is a bug of ours. A
	 * statement may add columns after the table's (users_me), which the caller reads. */
	assert(PQnfields(r) >= t->n);
	for (k = 0; k < t->n; k++) {
		const struct row_col *c = &t->cols[k];
		char *dst = (char *)row + c->off;
		bool null = PQgetisnull(r, i, k);
		const char *s = PQgetvalue(r, i, k);

		switch (c->type) {
		case COL_INT:
			put_num(dst, c->size, null ? c->none : strtoll(s, NULL, 10));
			break;
		case COL_STR:
			snprintf(dst, c->size, "%s", s); /* "" when NULL */
			break;
		case COL_BOOL: {
			bool b = s[0] == 't';

			memcpy(dst, &b, sizeof(b));
			break;
		}
		}
	}
}

/* Adds key: value to o, the value null when is_null. False on out of memory (o keeps what it had). */
static bool add(struct json_object *o, const struct row_col *c, bool is_null, int64_t num, const char *s,
                size_t len)
{
	struct json_object *v = NULL;

	if (!is_null) {
		switch (c->type) {
		case COL_INT:
			v = json_object_new_int64(num);
			break;
		case COL_STR:
			v = json_object_new_string_len(s, (int)len);
			break;
		case COL_BOOL:
			v = json_object_new_boolean(num != 0);
			break;
		}
		if (v == NULL)
			return false;
	}
	if (json_object_object_add(o, c->key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

struct json_object *row_json(const void *row, const struct row_table *t)
{
	struct json_object *o = json_object_new_object();
	int k;

	for (k = 0; o != NULL && k < t->n; k++) {
		const struct row_col *c = &t->cols[k];
		const char *src = (const char *)row + c->off;
		int64_t num = 0;
		bool b, is_null = false;
		size_t len = 0;

		if (c->key == NULL)
			continue;
		switch (c->type) {
		case COL_INT:
			num = get_num(src, c->size);
			is_null = c->nullable && num <= c->none;
			break;
		case COL_STR:
			len = strnlen(src, c->size);
			is_null = c->nullable && len == 0;
			break;
		case COL_BOOL:
			memcpy(&b, src, sizeof(b));
			num = b;
			break;
		}
		if (!add(o, c, is_null, num, src, len)) {
			json_object_put(o);
			o = NULL;
		}
	}
	return o;
}

struct json_object *row_json_result(PGresult *r, int i, const struct row_table *t)
{
	struct json_object *o = json_object_new_object();
	int k;

	/* Columns after t's are the caller's (row_list_json_with). */
	assert(PQnfields(r) >= t->n);
	for (k = 0; o != NULL && k < t->n; k++) {
		const struct row_col *c = &t->cols[k];
		const char *s = PQgetvalue(r, i, k);
		int64_t num = c->type == COL_INT ? strtoll(s, NULL, 10) : s[0] == 't';

		if (c->key != NULL &&
		    !add(o, c, PQgetisnull(r, i, k), num, s, (size_t)PQgetlength(r, i, k))) {
			json_object_put(o);
			o = NULL;
		}
	}
	return o;
}

PGresult *row_exec(struct db *db, const char *stmt, const struct params *p, enum merr *err)
{
	return db_exec(db, stmt, p->n, p->values, err);
}

enum merr row_run(struct db *db, const char *stmt, const struct params *p)
{
	enum merr err;
	PGresult *r = row_exec(db, stmt, p, &err);

	if (r == NULL)
		return err;
	PQclear(r);
	return MERR_OK;
}

enum merr row_exec_one(struct db *db, const char *stmt, const struct params *p, PGresult **out)
{
	enum merr err;
	PGresult *r = row_exec(db, stmt, p, &err);

	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return MERR_NOT_FOUND;
	}
	*out = r;
	return MERR_OK;
}

enum merr row_one(struct db *db, const char *stmt, const struct params *p, const struct row_table *t,
                  void *row)
{
	PGresult *r = NULL;
	enum merr err = row_exec_one(db, stmt, p, &r);

	if (err != MERR_OK)
		return err;
	row_fill(row, t, r, 0);
	PQclear(r);
	return MERR_OK;
}

enum merr row_one_json(struct db *db, const char *stmt, const struct params *p, const struct row_table *t,
                       struct json_object **out)
{
	PGresult *r = NULL;
	enum merr err = row_exec_one(db, stmt, p, &r);

	if (err != MERR_OK)
		return err;
	*out = row_json_result(r, 0, t);
	PQclear(r);
	return *out != NULL ? MERR_OK : MERR_INTERNAL;
}

enum merr row_list_json_with(struct db *db, const char *list_stmt, const char *count_stmt, int ncount,
                             const struct params *p, const struct row_table *t, row_extra_fn *extra,
                             struct json_object **items, int64_t *total)
{
	struct json_object *a = NULL;
	enum merr err;
	PGresult *r = row_exec(db, list_stmt, p, &err);
	int i;

	if (r == NULL)
		return err;
	a = json_object_new_array_ext(PQntuples(r));
	for (i = 0; a != NULL && i < PQntuples(r); i++) {
		struct json_object *o = row_json_result(r, i, t);

		if (o == NULL || (extra != NULL && !extra(o, r, i, t->n)) ||
		    json_object_array_add(a, o) != 0) {
			json_object_put(o);
			json_object_put(a);
			a = NULL;
		}
	}
	PQclear(r);
	if (a == NULL)
		return MERR_INTERNAL;
	r = db_exec(db, count_stmt, ncount, p->values, &err);
	if (r == NULL) {
		json_object_put(a);
		return err;
	}
	*total = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	*items = a;
	return MERR_OK;
}

enum merr row_list_json(struct db *db, const char *list_stmt, const char *count_stmt, int ncount,
                        const struct params *p, const struct row_table *t, struct json_object **items,
                        int64_t *total)
{
	return row_list_json_with(db, list_stmt, count_stmt, ncount, p, t, NULL, items, total);
}
