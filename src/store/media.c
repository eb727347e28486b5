/* media.c: media rows through prepared statements (see statements.c), shaped by MEDIA_COLUMNS. */
#include "config.h"

#include "store/media.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/db.h"
#include "store/params.h"
#include "store/rows.h"

#define MEDIA_COL(...) ROW_COL(struct media, __VA_ARGS__)
static const struct row_col media_cols[] = { MEDIA_COLUMNS(MEDIA_COL, MEDIA_COL) };
static const struct row_table media_table = ROW_TABLE(media_cols);

enum merr media_insert(struct db *db, struct media *m)
{
	struct params p = PARAMS_INIT;

	/* In the order of MEDIA_INSERT_STMT's columns. */
	params_int(&p, m->user_id);
	params_int_or_null(&p, m->project_id, 0);
	params_str(&p, m->title);
	params_str(&p, m->kind);
	params_str(&p, m->mime);
	params_str(&p, m->path);
	params_int(&p, m->size_bytes);
	params_int_or_null(&p, m->duration_ms, -1);
	params_int_or_null(&p, m->width, -1);
	params_int_or_null(&p, m->height, -1);
	params_str_or_null(&p, m->video_codec);
	params_str_or_null(&p, m->audio_codec);
	params_str_or_null(&p, m->original_name);
	params_str_or_null(&p, m->render_job_id);
	/* The parameters point into m; the row is read back into m only after the statement ran. */
	return row_one(db, "media_insert", &p, &media_table, m);
}

enum merr media_usage(struct db *db, int64_t user_id, int64_t *bytes)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	params_int(&p, user_id);
	/* A sum: always one row. */
	err = row_exec_one(db, "media_usage", &p, &r);
	if (err != MERR_OK)
		return err;
	*bytes = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return MERR_OK;
}

enum merr media_insert_within(struct db *db, struct media *m, int64_t quota)
{
	struct params p = PARAMS_INIT;
	int64_t used = 0;
	enum merr err;

	if (quota <= 0)
		return media_insert(db, m);
	params_int(&p, m->user_id);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	/* Waits (at most db_lock_timeout_ms) for another upload of this user to commit, so the sum
	 * below counts its row. */
	err = row_run(db, "users_lock", &p);
	if (err != MERR_OK)
		goto out;
	err = media_usage(db, m->user_id, &used);
	if (err != MERR_OK)
		goto out;
	if (used > quota || m->size_bytes > quota - used)
		err = MERR_QUOTA_EXCEEDED;
	else
		err = media_insert(db, m);
out:
	return db_end(db, err);
}

enum merr media_get(struct db *db, int64_t user_id, int64_t id, struct media *m)
{
	struct params p = PARAMS_INIT;

	params_int(&p, id);
	params_int(&p, user_id);
	return row_one(db, "media_get", &p, &media_table, m);
}

enum merr media_get_any(struct db *db, int64_t id, struct media *m)
{
	struct params p = PARAMS_INIT;

	params_int(&p, id);
	return row_one(db, "media_get_any", &p, &media_table, m);
}

enum merr media_list(struct db *db, int64_t user_id, int64_t project_id, const char *origin, int64_t limit,
                     int64_t offset, struct json_object **items, int64_t *total)
{
	struct params p = PARAMS_INIT;

	params_int(&p, user_id);
	params_int_or_null(&p, project_id, 0);
	params_str(&p, origin);
	params_int(&p, limit);
	params_int(&p, offset);
	return row_list_json(db, "media_list", "media_count", 3, &p, &media_table, items, total);
}

enum merr media_delete(struct db *db, int64_t user_id, int64_t id, char *path)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	params_int(&p, id);
	params_int(&p, user_id);
	err = row_exec_one(db, "media_delete", &p, &r);
	if (err != MERR_OK)
		return err;
	snprintf(path, MEDIA_PATH_MAX, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return MERR_OK;
}

struct json_object *media_json(const struct media *m)
{
	return row_json(m, &media_table);
}
