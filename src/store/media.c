/* media.c: media rows through prepared statements (see statements.c), shaped by MEDIA_COLUMNS. */
#include "config.h"

#include "store/media.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/db.h"
#include "store/jobs.h"
#include "store/params.h"
#include "store/renditions.h"
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
	/* 0 as well as -1: a struct filled by hand says "unknown" either way. */
	params_int_or_null(&p, m->frame_rate_milli > 0 ? m->frame_rate_milli : -1, -1);
	/* The parameters point into m; the row is read back into m only after the statement ran. */
	return row_one(db, "media_insert", &p, &media_table, m);
}

/* Runs stmt, a sum (always one row), with p into *bytes. */
static enum merr usage_sum(struct db *db, const char *stmt, const struct params *p, int64_t *bytes)
{
	PGresult *r = NULL;
	enum merr err = row_exec_one(db, stmt, p, &r);

	if (err != MERR_OK)
		return err;
	*bytes = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return MERR_OK;
}

enum merr media_usage(struct db *db, int64_t user_id, int64_t *bytes)
{
	struct params p = PARAMS_INIT;

	params_int(&p, user_id);
	return usage_sum(db, "media_usage", &p, bytes);
}

enum merr media_usage_reserved(struct db *db, int64_t user_id, const char *upload_id, int64_t *bytes)
{
	struct params p = PARAMS_INIT;

	params_int(&p, user_id);
	params_str(&p, upload_id);
	return usage_sum(db, "media_usage_reserved", &p, bytes);
}

enum merr media_insert_within(struct db *db, struct media *m, int64_t quota, const char *upload_id,
                              const char *presets, int max_attempts, media_insert_hook then, void *arg)
{
	struct params p = PARAMS_INIT;
	int64_t used = 0;
	enum merr err;

	bool autos = presets != NULL && presets[0] != '\0';

	if (quota <= 0 && !autos && then == NULL)
		return media_insert(db, m);
	params_int(&p, m->user_id);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	if (quota > 0) {
		/* Waits (at most db_lock_timeout_ms) for another upload or tus creation of this user to
		 * commit, so the sum below counts its row. */
		err = row_run(db, "users_lock", &p);
		if (err != MERR_OK)
			goto out;
		err = media_usage_reserved(db, m->user_id, upload_id, &used);
		if (err != MERR_OK)
			goto out;
		if (used > quota || m->size_bytes > quota - used) {
			err = MERR_QUOTA_EXCEEDED;
			goto out;
		}
	}
	err = media_insert(db, m);
	/* The renditions' jobs in the same transaction: no media is ever left without the jobs that
	 * make it ready, and the trigger on render_jobs has made it 'processing'. */
	if (err == MERR_OK && autos) {
		err = jobs_enqueue_renditions(db, m->id, presets, max_attempts);
		if (err == MERR_OK)
			snprintf(m->status, sizeof(m->status), "processing");
	}
	if (err == MERR_OK && then != NULL)
		err = then(db, m, arg);
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

/* row_extra_fn of media_list: its columns after the media's are the row's renditions
 * (RENDITIONS_JSON_SQL) and rendition jobs (RENDITION_JOBS_JSON_SQL), which become "renditions"
 * and "renditionJobs". */
static bool media_add_renditions(struct json_object *o, PGresult *r, int i, int first)
{
	static const char *const keys[] = { "renditions", "renditionJobs" };
	int k;

	for (k = 0; k < 2; k++) {
		struct json_object *a = renditions_json_column(r, i, first + k);

		if (a == NULL || json_object_object_add(o, keys[k], a) != 0) {
			json_object_put(a);
			return false;
		}
	}
	return true;
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
	return row_list_json_with(db, "media_list", "media_count", 3, &p, &media_table, media_add_renditions,
	                          items, total);
}

enum merr media_delete(struct db *db, int64_t user_id, int64_t id, char *path, char *dirs, size_t dirslen)
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
	/* Cut short, some folders would be left for good: an error is better (cannot happen with
	 * the few renditions a media has). */
	if ((size_t)snprintf(dirs, dirslen, "%s", PQgetvalue(r, 0, 1)) >= dirslen)
		dirs[0] = '\0';
	PQclear(r);
	return MERR_OK;
}

enum merr media_snapshot(struct db *db, const char *subject, struct media *m)
{
	struct params p = PARAMS_INIT;

	params_str(&p, subject);
	return row_one(db, "media_snapshot", &p, &media_table, m);
}

enum merr media_json_stored(struct db *db, const struct media *m, struct json_object **out)
{
	struct json_object *o = NULL, *renditions = NULL, *jobs = NULL;
	enum merr err;

	*out = NULL;
	err = renditions_json(db, m->id, &renditions, &jobs);
	if (err != MERR_OK)
		return err;
	o = media_json(m);
	/* json_object_object_add replaces media_json's [] and, when it succeeds, takes ownership. */
	if (o != NULL && json_object_object_add(o, "renditions", renditions) == 0)
		renditions = NULL;
	if (o != NULL && renditions == NULL && json_object_object_add(o, "renditionJobs", jobs) == 0)
		jobs = NULL;
	if (o != NULL && (renditions != NULL || jobs != NULL)) {
		json_object_put(o);
		o = NULL;
	}
	json_object_put(renditions);
	json_object_put(jobs);
	if (o == NULL)
		return MERR_INTERNAL;
	*out = o;
	return MERR_OK;
}

/*
 * The renditions are not in struct media (MEDIA_COLUMNS): "renditions" and "renditionJobs" are []
 * here. media_list, GET /media/:id and an upload that queued rendition jobs put the stored ones in
 * their place (RENDITIONS_JSON_SQL, RENDITION_JOBS_JSON_SQL), so every media object has them.
 */
struct json_object *media_json(const struct media *m)
{
	struct json_object *o = row_json(m, &media_table), *a;

	if (o == NULL)
		return NULL;
	a = json_object_new_array();
	if (a == NULL || json_object_object_add(o, "renditions", a) != 0) {
		json_object_put(a);
		json_object_put(o);
		return NULL;
	}
	a = json_object_new_array();
	if (a == NULL || json_object_object_add(o, "renditionJobs", a) != 0) {
		json_object_put(a);
		json_object_put(o);
		return NULL;
	}
	return o;
}
