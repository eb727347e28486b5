/* uploads.c: resumable upload rows through prepared statements (see statements.c). */
#include "config.h"

#include "store/uploads.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/jobs.h"
#include "store/media.h"
#include "store/params.h"
#include "store/rows.h"

#define UPLOAD_COL(...) ROW_COL(struct upload, __VA_ARGS__)
static const struct row_col upload_cols[] = { UPLOAD_COLUMNS(UPLOAD_COL, UPLOAD_COL) };
static const struct row_table upload_table = ROW_TABLE(upload_cols);

bool upload_id_ok(const char *s)
{
	/* The same canonical UUID text as a job id. */
	return job_id_ok(s);
}

bool upload_part_path(const char *root, const char *id, char *out, size_t outlen)
{
	int n;

	if (!upload_id_ok(id))
		return false;
	n = snprintf(out, outlen, "%s/uploads/.tus-%s.part", root, id);
	return n > 0 && (size_t)n < outlen;
}

enum merr uploads_create(struct db *db, struct upload *u, int64_t expiry, int64_t quota, int64_t max_live)
{
	struct params p = PARAMS_INIT, own = PARAMS_INIT;
	PGresult *r = NULL;
	int64_t used = 0, live, open_bytes;
	enum merr err;

	params_int(&own, u->user_id);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	/* Concurrent creations and completions of this user take turns here, so the sums below
	 * count each other's rows. */
	err = row_run(db, "users_lock", &own);
	if (err != MERR_OK)
		goto out;
	err = row_exec_one(db, "uploads_open", &own, &r);
	if (err != MERR_OK)
		goto out;
	live = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	open_bytes = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	if (live >= max_live) {
		err = MERR_RATE_LIMITED;
		goto out;
	}
	if (quota > 0) {
		err = media_usage(db, u->user_id, &used);
		if (err != MERR_OK)
			goto out;
		/* Each term is at most quota or upload_max_bytes times max_live: no overflow. */
		if (used > quota || open_bytes > quota - used || u->length > quota - used - open_bytes) {
			err = MERR_QUOTA_EXCEEDED;
			goto out;
		}
	}
	params_int(&p, u->user_id);
	params_int_or_null(&p, u->project_id, 0);
	params_int(&p, u->length);
	params_str(&p, u->filename);
	params_str(&p, u->title);
	params_str(&p, u->kind);
	params_int(&p, expiry);
	params_str(&p, u->metadata);
	/* The parameters point into u; the row is read back into u only after the statement ran. */
	err = row_one(db, "uploads_create", &p, &upload_table, u);
out:
	return db_end(db, err);
}

enum merr uploads_get(struct db *db, int64_t user_id, const char *id, struct upload *u)
{
	struct params p = PARAMS_INIT;

	if (!upload_id_ok(id))
		return MERR_NOT_FOUND;
	params_str(&p, id);
	params_int(&p, user_id);
	return row_one(db, "uploads_get", &p, &upload_table, u);
}

/* Runs stmt, whose RETURNING says whether a row changed: no row is MERR_CONFLICT (or none, for
 * MERR_NOT_FOUND when missing is that). */
static enum merr uploads_change(struct db *db, const char *stmt, const struct params *p, enum merr missing)
{
	PGresult *r = NULL;
	enum merr err = row_exec_one(db, stmt, p, &r);

	PQclear(r);
	return err == MERR_NOT_FOUND ? missing : err;
}

enum merr uploads_set_offset(struct db *db, int64_t user_id, const char *id, int64_t offset)
{
	struct params p = PARAMS_INIT;

	params_str(&p, id);
	params_int(&p, user_id);
	params_int(&p, offset);
	return uploads_change(db, "uploads_set_offset", &p, MERR_CONFLICT);
}

enum merr uploads_complete(struct db *db, const char *id, int64_t media_id)
{
	struct params p = PARAMS_INIT;

	params_str(&p, id);
	params_int(&p, media_id);
	return uploads_change(db, "uploads_complete", &p, MERR_CONFLICT);
}

enum merr uploads_fail(struct db *db, int64_t user_id, const char *id)
{
	struct params p = PARAMS_INIT;

	params_str(&p, id);
	params_int(&p, user_id);
	return uploads_change(db, "uploads_fail", &p, MERR_CONFLICT);
}

enum merr uploads_delete(struct db *db, int64_t user_id, const char *id)
{
	struct params p = PARAMS_INIT;

	if (!upload_id_ok(id))
		return MERR_NOT_FOUND;
	params_str(&p, id);
	params_int(&p, user_id);
	return uploads_change(db, "uploads_delete", &p, MERR_NOT_FOUND);
}
