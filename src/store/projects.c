/* projects.c: project rows through prepared statements (see statements.c), shaped by PROJECT_COLUMNS. */
#include "config.h"

#include "store/projects.h"

#include <libpq-fe.h>

#include "store/db.h"
#include "store/params.h"
#include "store/rows.h"

static const struct row_col project_cols[] = { ROW_JSON_COLS(PROJECT_COLUMNS) };
static const struct row_table project_table = ROW_TABLE(project_cols);

/* $1 the project, $2 its owner: how most project statements start. */
static void project_params(struct params *p, int64_t user_id, int64_t id)
{
	params_int(p, id);
	params_int(p, user_id);
}

enum merr projects_create(struct db *db, int64_t user_id, const char *title, const char *description,
                          struct json_object **out)
{
	struct params p = PARAMS_INIT;

	params_int(&p, user_id);
	params_str(&p, title);
	params_str(&p, description);
	return row_one_json(db, "projects_create", &p, &project_table, out);
}

enum merr projects_get(struct db *db, int64_t user_id, int64_t id, struct json_object **out)
{
	struct params p = PARAMS_INIT;

	project_params(&p, user_id, id);
	return row_one_json(db, "projects_get", &p, &project_table, out);
}

enum merr projects_check_owner(struct db *db, int64_t user_id, int64_t id)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	project_params(&p, user_id, id);
	err = row_exec_one(db, "projects_owned", &p, &r);
	if (err == MERR_OK)
		PQclear(r);
	return err;
}

enum merr projects_list(struct db *db, int64_t user_id, int64_t limit, int64_t offset,
                        struct json_object **items, int64_t *total)
{
	struct params p = PARAMS_INIT;

	params_int(&p, user_id);
	params_int(&p, limit);
	params_int(&p, offset);
	return row_list_json(db, "projects_list", "projects_count", 1, &p, &project_table, items, total);
}

enum merr projects_update(struct db *db, int64_t user_id, int64_t id, const char *title, bool set_description,
                          const char *description, struct json_object **out)
{
	struct params p = PARAMS_INIT;

	project_params(&p, user_id, id);
	params_str(&p, title);
	params_bool(&p, set_description);
	params_str(&p, description);
	return row_one_json(db, "projects_update", &p, &project_table, out);
}

enum merr projects_delete(struct db *db, int64_t user_id, int64_t id, struct buf *paths,
                          struct buf *media_ids)
{
	struct params p = PARAMS_INIT;
	enum merr err;
	PGresult *r = NULL;
	int i;

	project_params(&p, user_id, id);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	/* Lock the project row first, so no upload can add a file to it while it goes. */
	err = row_exec_one(db, "projects_lock", &p, &r);
	if (err != MERR_OK)
		goto out;
	PQclear(r);
	r = db_exec(db, "projects_delete", 1, p.values, &err);
	if (r == NULL)
		goto out;
	for (i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, 0))
			continue;
		buf_puts(paths, PQgetvalue(r, i, 0));
		buf_putc(paths, '\0');
		if (PQgetisnull(r, i, 1))
			continue; /* a rendition folder */
		buf_puts(media_ids, PQgetvalue(r, i, 1));
		buf_putc(media_ids, '\0');
	}
	PQclear(r);
	err = paths->failed || media_ids->failed ? MERR_INTERNAL : MERR_OK;
out:
	return db_end(db, err);
}
