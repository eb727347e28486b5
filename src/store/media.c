/* media.c: media rows through prepared statements (see statements.c). */
#include "config.h"

#include "store/media.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/rowjson.h"

/* Column order of MEDIA_COLS in statements.c. */
enum {
	C_ID,
	C_USER,
	C_PROJECT,
	C_TITLE,
	C_KIND,
	C_MIME,
	C_PATH,
	C_SIZE,
	C_DUR,
	C_W,
	C_H,
	C_VC,
	C_AC,
	C_ORIG,
	C_ORIGIN,
	C_RJOB,
	C_CREATED,
	C_MTIME,
	C__N
};

static const struct col_spec media_cols[] = {
	{ "id", COL_INT },          { "userId", COL_INT },       { "projectId", COL_INT },
	{ "title", COL_STR },       { "kind", COL_STR },         { "mime", COL_STR },
	{ "path", COL_STR },        { "sizeBytes", COL_INT },    { "durationMs", COL_INT },
	{ "width", COL_INT },       { "height", COL_INT },       { "videoCodec", COL_STR },
	{ "audioCodec", COL_STR },  { "originalName", COL_STR }, { "origin", COL_STR },
	{ "renderJobId", COL_STR }, { "createdAt", COL_STR },
};

static int64_t num_or(PGresult *r, int col, int64_t dflt)
{
	return PQgetisnull(r, 0, col) ? dflt : strtoll(PQgetvalue(r, 0, col), NULL, 10);
}

static void str(char *dst, size_t n, PGresult *r, int col)
{
	snprintf(dst, n, "%s", PQgetvalue(r, 0, col));
}

static void fill(struct media *m, PGresult *r)
{
	m->id = num_or(r, C_ID, 0);
	m->user_id = num_or(r, C_USER, 0);
	m->project_id = num_or(r, C_PROJECT, 0);
	str(m->title, sizeof(m->title), r, C_TITLE);
	str(m->kind, sizeof(m->kind), r, C_KIND);
	str(m->mime, sizeof(m->mime), r, C_MIME);
	str(m->path, sizeof(m->path), r, C_PATH);
	m->size_bytes = num_or(r, C_SIZE, 0);
	m->duration_ms = num_or(r, C_DUR, -1);
	m->width = num_or(r, C_W, -1);
	m->height = num_or(r, C_H, -1);
	str(m->video_codec, sizeof(m->video_codec), r, C_VC);
	str(m->audio_codec, sizeof(m->audio_codec), r, C_AC);
	str(m->original_name, sizeof(m->original_name), r, C_ORIG);
	str(m->origin, sizeof(m->origin), r, C_ORIGIN);
	str(m->render_job_id, sizeof(m->render_job_id), r, C_RJOB);
	str(m->created_at, sizeof(m->created_at), r, C_CREATED);
	m->mtime = num_or(r, C_MTIME, 0);
}

static const char *opt_num(char *buf, size_t n, int64_t v)
{
	if (v < 0)
		return NULL;
	snprintf(buf, n, "%" PRId64, v);
	return buf;
}

static const char *opt_str(const char *s)
{
	return s[0] ? s : NULL;
}

enum merr media_insert(struct db *db, struct media *m)
{
	char uid[24], pid[24], size[24], dur[24], w[24], h[24];
	const char *p[13] = {
		uid,
		m->project_id > 0 ? pid : NULL,
		m->title,
		m->kind,
		m->mime,
		m->path,
		size,
		opt_num(dur, sizeof(dur), m->duration_ms),
		opt_num(w, sizeof(w), m->width),
		opt_num(h, sizeof(h), m->height),
		opt_str(m->video_codec),
		opt_str(m->audio_codec),
		opt_str(m->original_name),
	};
	enum merr err;
	PGresult *r;

	snprintf(uid, sizeof(uid), "%" PRId64, m->user_id);
	snprintf(pid, sizeof(pid), "%" PRId64, m->project_id);
	snprintf(size, sizeof(size), "%" PRId64, m->size_bytes);
	r = db_exec(db, "media_insert", 13, p, &err);
	if (r == NULL)
		return err;
	m->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	str(m->created_at, sizeof(m->created_at), r, 1);
	m->mtime = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return MERR_OK;
}

enum merr media_usage(struct db *db, int64_t user_id, int64_t *bytes)
{
	char uid[24];
	const char *p[1] = { uid };
	enum merr err;
	PGresult *r;

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	r = db_exec(db, "media_usage", 1, p, &err);
	if (r == NULL)
		return err;
	*bytes = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return MERR_OK;
}

enum merr media_insert_within(struct db *db, struct media *m, int64_t quota)
{
	char uid[24];
	const char *p[1] = { uid };
	int64_t used = 0;
	enum merr err;
	PGresult *r;

	if (quota <= 0)
		return media_insert(db, m);
	snprintf(uid, sizeof(uid), "%" PRId64, m->user_id);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	/* Waits (at most db_lock_timeout_ms) for another upload of this user to commit, so the sum
	 * below counts its row. */
	r = db_exec(db, "users_lock", 1, p, &err);
	if (r == NULL)
		goto fail;
	PQclear(r);
	err = media_usage(db, m->user_id, &used);
	if (err != MERR_OK)
		goto fail;
	if (used > quota || m->size_bytes > quota - used) {
		err = MERR_QUOTA_EXCEEDED;
		goto fail;
	}
	err = media_insert(db, m);
	if (err != MERR_OK)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return err;
}

static enum merr media_one(struct db *db, const char *stmt, int n, const char *const *p, struct media *m)
{
	enum merr err;
	PGresult *r = db_exec(db, stmt, n, p, &err);

	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return MERR_NOT_FOUND;
	}
	fill(m, r);
	PQclear(r);
	return MERR_OK;
}

enum merr media_get(struct db *db, int64_t user_id, int64_t id, struct media *m)
{
	char uid[24], mid[24];
	const char *p[2] = { mid, uid };

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(mid, sizeof(mid), "%" PRId64, id);
	return media_one(db, "media_get", 2, p, m);
}

enum merr media_get_any(struct db *db, int64_t id, struct media *m)
{
	char mid[24];
	const char *p[1] = { mid };

	snprintf(mid, sizeof(mid), "%" PRId64, id);
	return media_one(db, "media_get_any", 1, p, m);
}

enum merr media_list(struct db *db, int64_t user_id, int64_t project_id, const char *origin, int64_t limit,
                     int64_t offset, struct json_object **items, int64_t *total)
{
	char uid[24], pid[24], lim[24], off[24];
	const char *p[5] = { uid, project_id > 0 ? pid : NULL, origin, lim, off };

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(pid, sizeof(pid), "%" PRId64, project_id);
	snprintf(lim, sizeof(lim), "%" PRId64, limit);
	snprintf(off, sizeof(off), "%" PRId64, offset);
	return rowjson_list(db, "media_list", 5, "media_count", 3, p, media_cols, C_CREATED + 1, items,
	                    total);
}

enum merr media_delete(struct db *db, int64_t user_id, int64_t id, char *path)
{
	char uid[24], mid[24];
	const char *p[2] = { mid, uid };
	enum merr err;
	PGresult *r;

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(mid, sizeof(mid), "%" PRId64, id);
	r = db_exec(db, "media_delete", 2, p, &err);
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return MERR_NOT_FOUND;
	}
	snprintf(path, MEDIA_PATH_MAX, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return MERR_OK;
}

static void add_opt_num(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, v < 0 ? NULL : json_object_new_int64(v));
}

static void add_opt_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v[0] ? json_object_new_string(v) : NULL);
}

struct json_object *media_json(const struct media *m)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(m->id));
	json_object_object_add(o, "userId", json_object_new_int64(m->user_id));
	add_opt_num(o, "projectId", m->project_id > 0 ? m->project_id : -1);
	json_object_object_add(o, "title", json_object_new_string(m->title));
	json_object_object_add(o, "kind", json_object_new_string(m->kind));
	json_object_object_add(o, "mime", json_object_new_string(m->mime));
	json_object_object_add(o, "path", json_object_new_string(m->path));
	json_object_object_add(o, "sizeBytes", json_object_new_int64(m->size_bytes));
	add_opt_num(o, "durationMs", m->duration_ms);
	add_opt_num(o, "width", m->width);
	add_opt_num(o, "height", m->height);
	add_opt_str(o, "videoCodec", m->video_codec);
	add_opt_str(o, "audioCodec", m->audio_codec);
	add_opt_str(o, "originalName", m->original_name);
	json_object_object_add(o, "origin", json_object_new_string(m->origin[0] ? m->origin : "upload"));
	add_opt_str(o, "renderJobId", m->render_job_id);
	json_object_object_add(o, "createdAt", json_object_new_string(m->created_at));
	return o;
}
