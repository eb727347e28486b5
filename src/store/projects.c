/* projects.c: project rows through prepared statements (see statements.c). */
#include "config.h"

#include "store/projects.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/db.h"
#include "store/rowjson.h"

/* The column order of PROJECT_COLS in statements.c. */
static const struct col_spec project_cols[] = {
	{ "id", COL_INT },     { "title", COL_STR },     { "description", COL_STR },
	{ "userId", COL_INT }, { "createdAt", COL_STR }, { "updatedAt", COL_STR },
};
#define NPROJECT_COLS ((int)(sizeof(project_cols) / sizeof(project_cols[0])))

/* Runs stmt and turns its single row into *out; no row is MERR_NOT_FOUND. */
static enum merr one_project(struct db *db, const char *stmt, int n, const char *const *p,
                             struct json_object **out)
{
	return rowjson_one(db, stmt, n, p, project_cols, NPROJECT_COLS, out);
}

enum merr projects_create(struct db *db, int64_t user_id, const char *title, const char *description,
                          struct json_object **out)
{
	char uid[24];
	const char *p[3] = { uid, title, description };

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	return one_project(db, "projects_create", 3, p, out);
}

enum merr projects_get(struct db *db, int64_t user_id, int64_t id, struct json_object **out)
{
	char uid[24], pid[24];
	const char *p[2] = { pid, uid };

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(pid, sizeof(pid), "%" PRId64, id);
	return one_project(db, "projects_get", 2, p, out);
}

enum merr projects_check_owner(struct db *db, int64_t user_id, int64_t id)
{
	char uid[24], pid[24];
	const char *p[2] = { pid, uid };
	enum merr err;
	PGresult *r;

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(pid, sizeof(pid), "%" PRId64, id);
	r = db_exec(db, "projects_owned", 2, p, &err);
	if (r == NULL)
		return err;
	err = PQntuples(r) == 1 ? MERR_OK : MERR_NOT_FOUND;
	PQclear(r);
	return err;
}

enum merr projects_list(struct db *db, int64_t user_id, int64_t limit, int64_t offset,
                        struct json_object **items, int64_t *total)
{
	char uid[24], lim[24], off[24];
	const char *p[3] = { uid, lim, off };

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(lim, sizeof(lim), "%" PRId64, limit);
	snprintf(off, sizeof(off), "%" PRId64, offset);
	return rowjson_list(db, "projects_list", 3, "projects_count", 1, p, project_cols, NPROJECT_COLS,
	                    items, total);
}

enum merr projects_update(struct db *db, int64_t user_id, int64_t id, const char *title, bool set_description,
                          const char *description, struct json_object **out)
{
	char uid[24], pid[24];
	const char *p[5] = { pid, uid, title, set_description ? "t" : "f", description };

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(pid, sizeof(pid), "%" PRId64, id);
	return one_project(db, "projects_update", 5, p, out);
}

enum merr projects_delete(struct db *db, int64_t user_id, int64_t id, struct buf *paths,
                          struct buf *media_ids)
{
	char uid[24], pid[24];
	const char *p[2] = { pid, uid };
	enum merr err;
	PGresult *r = NULL;
	int i;

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(pid, sizeof(pid), "%" PRId64, id);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	/* Lock the project row first, so no upload can add a file to it while it goes. */
	r = db_exec(db, "projects_lock", 2, p, &err);
	if (r == NULL)
		goto fail;
	if (PQntuples(r) != 1) {
		err = MERR_NOT_FOUND;
		goto fail;
	}
	PQclear(r);
	r = db_exec(db, "projects_delete", 1, p, &err);
	if (r == NULL)
		goto fail;
	for (i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, 0))
			continue;
		buf_puts(paths, PQgetvalue(r, i, 0));
		buf_putc(paths, '\0');
		buf_puts(media_ids, PQgetvalue(r, i, 1));
		buf_putc(media_ids, '\0');
	}
	PQclear(r);
	r = NULL;
	if (paths->failed || media_ids->failed) {
		err = MERR_INTERNAL;
		goto fail;
	}
	return db_commit(db);
fail:
	PQclear(r);
	db_rollback(db);
	return err;
}
