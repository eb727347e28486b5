/* jobs.c: render job rows for the API, through prepared statements (see statements.c). */
#include "config.h"

#include "store/jobs.h"

#include <ctype.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/rowjson.h"

/* Column order of JOB_COLS in statements.c. */
static const struct col_spec job_cols[] = {
	{ "id", COL_STR },        { "state", COL_STR },        { "progress", COL_INT },
	{ "result", COL_STR },    { "failedReason", COL_STR }, { "projectId", COL_INT },
	{ "preset", COL_STR },    { "attempts", COL_INT },     { "createdAt", COL_STR },
	{ "startedAt", COL_STR }, { "finishedAt", COL_STR },   { "outputMediaId", COL_INT },
};
#define NJOB_COLS ((int)(sizeof(job_cols) / sizeof(job_cols[0])))

bool job_id_ok(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != JOB_ID_LEN)
		return false;
	for (i = 0; i < JOB_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* A random (version 4) UUID. */
static void uuid4(char out[JOB_ID_LEN + 1])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, JOB_ID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	         b[14], b[15]);
}

enum merr jobs_pick_input(struct db *db, int64_t user_id, int64_t project_id, int64_t asset_id,
                          struct job_input *in)
{
	char uid[24], pid[24], aid[24];
	const char *p[3] = { pid, uid, asset_id > 0 ? aid : NULL };
	enum merr err;
	PGresult *r;

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(pid, sizeof(pid), "%" PRId64, project_id);
	snprintf(aid, sizeof(aid), "%" PRId64, asset_id);
	r = db_exec(db, "jobs_pick_input", 3, p, &err);
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return MERR_NOT_FOUND;
	}
	in->media_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(in->path, sizeof(in->path), "%s", PQgetvalue(r, 0, 1));
	snprintf(in->kind, sizeof(in->kind), "%s", PQgetvalue(r, 0, 2));
	PQclear(r);
	return MERR_OK;
}

enum merr jobs_enqueue(struct db *db, int64_t user_id, int64_t project_id, const struct job_input *in,
                       const char *preset, const char *ext, int max_attempts, long long max_queued,
                       char id[JOB_ID_LEN + 1], char *output, size_t outlen)
{
	char uid[24], pid[24], mid[24], max[16], cap[24];
	const char *p[9] = { id, uid, pid, mid, in->path, output, preset, max, cap };
	enum merr err;
	PGresult *r;
	bool added;

	uuid4(id);
	/* Output names come from the job's UUID: two jobs can never write the same file. */
	snprintf(output, outlen, "outputs/%s-rendered.%s", id, ext);
	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(pid, sizeof(pid), "%" PRId64, project_id);
	snprintf(mid, sizeof(mid), "%" PRId64, in->media_id);
	snprintf(max, sizeof(max), "%d", max_attempts);
	snprintf(cap, sizeof(cap), "%lld", max_queued);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	r = db_exec(db, "users_lock", 1, &p[1], &err);
	if (r == NULL)
		goto fail;
	PQclear(r);
	r = db_exec(db, "jobs_enqueue", 9, p, &err);
	if (r == NULL)
		goto fail;
	added = PQntuples(r) == 1;
	PQclear(r);
	if (!added) {
		err = MERR_RATE_LIMITED;
		goto fail;
	}
	return db_commit(db);
fail:
	db_rollback(db);
	return err;
}

enum merr jobs_get(struct db *db, int64_t user_id, const char *id, struct json_object **out)
{
	char uid[24];
	const char *p[2] = { id, uid };

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	return rowjson_one(db, "jobs_get", 2, p, job_cols, NJOB_COLS, out);
}

enum merr jobs_list(struct db *db, int64_t user_id, int64_t project_id, int64_t limit, int64_t offset,
                    struct json_object **items, int64_t *total)
{
	char uid[24], pid[24], lim[24], off[24];
	const char *p[4] = { pid, uid, lim, off };

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(pid, sizeof(pid), "%" PRId64, project_id);
	snprintf(lim, sizeof(lim), "%" PRId64, limit);
	snprintf(off, sizeof(off), "%" PRId64, offset);
	return rowjson_list(db, "jobs_list", 4, "jobs_count", 2, p, job_cols, NJOB_COLS, items, total);
}

enum merr jobs_cancel(struct db *db, int64_t user_id, const char *id)
{
	char uid[24];
	const char *p[2] = { id, uid };
	enum merr err;
	PGresult *r;

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	r = db_exec(db, "jobs_cancel", 2, p, &err);
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return MERR_NOT_FOUND;
	}
	/* The statement reports the state the job was in before. */
	err = strcmp(PQgetvalue(r, 0, 0), "waiting") == 0 || strcmp(PQgetvalue(r, 0, 0), "active") == 0 ?
	              MERR_OK :
	              MERR_CONFLICT;
	PQclear(r);
	return err;
}
