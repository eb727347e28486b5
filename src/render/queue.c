/* queue.c: claim, lease and outcome statements. Every write after the claim is fenced on
 * (id, attempts, state = 'active'): a spawner that lost its lease can never overwrite the job's
 * new owner. */
#include "config.h"

#include "render/queue.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/media.h"
#include "store/sqlfmt.h"

/* Backoff before retry n (1-based): 1 s, 2 s, 4 s, ... at most 5 minutes. */
#define BACKOFF "make_interval(secs => least(300, power(2, greatest(attempts - 1, 0))))"

const struct db_stmt queue_statements[] = {
	{ "queue_reap",
	  "UPDATE render_jobs SET "
	  " state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'waiting' END, "
	  " failed_reason = CASE WHEN attempts >= max_attempts "
	  "   THEN 'the render was interrupted ' || attempts || ' times' ELSE failed_reason END, "
	  " finished_at = CASE WHEN attempts >= max_attempts THEN now() END, "
	  " run_after = now() + " BACKOFF ", lease_owner = NULL, lease_until = NULL "
	  "WHERE state = 'active' AND lease_until < now()",
	  0 },
	{ "queue_claim",
	  /* The row carries the limit mediad had at enqueue; the claiming spawner's own setting can
	   * only lower it, and the row then says so. */
	  "UPDATE render_jobs j SET state = 'active', attempts = j.attempts + 1, lease_owner = $1, "
	  " max_attempts = least(j.max_attempts, $3::int), "
	  " lease_until = now() + make_interval(secs => $2::int), started_at = now(), progress = 0 "
	  "WHERE j.id = (SELECT id FROM render_jobs WHERE state = 'waiting' AND run_after <= now() "
	  "  ORDER BY run_after, created_at FOR UPDATE SKIP LOCKED LIMIT 1) "
	  "RETURNING j.id::text, j.attempts, j.max_attempts, j.preset, j.input_path, j.output_path, "
	  " coalesce((SELECT kind FROM media WHERE id = j.input_media_id), ''), "
	  " coalesce((SELECT duration_ms FROM media WHERE id = j.input_media_id), -1), j.project_id, j.user_id",
	  3 },
	{ "queue_heartbeat",
	  "UPDATE render_jobs SET progress = greatest(progress, $3::int), "
	  " lease_until = now() + make_interval(secs => $4::int) "
	  "WHERE id = $1 AND attempts = $2 AND state = 'active' RETURNING cancel_requested",
	  4 },
	{ "queue_complete",
	  "UPDATE render_jobs SET state = 'completed', progress = 100, output_media_id = $3, finished_at = now(), "
	  " failed_reason = NULL, lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1 AND attempts = $2 AND state = 'active' AND NOT cancel_requested",
	  3 },
	{ "queue_retry",
	  "UPDATE render_jobs SET state = 'waiting', failed_reason = $3, run_after = now() + " BACKOFF ", "
	  " lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1 AND attempts = $2 AND state = 'active' AND attempts < max_attempts",
	  3 },
	{ "queue_fail",
	  "UPDATE render_jobs SET state = 'failed', failed_reason = $3, finished_at = now(), "
	  " lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1 AND attempts = $2 AND state = 'active'",
	  3 },
	{ "queue_cancelled",
	  "UPDATE render_jobs SET state = 'cancelled', finished_at = now(), lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1 AND attempts = $2 AND state = 'active'",
	  2 },
	{ "queue_release",
	  "UPDATE render_jobs SET state = 'waiting', attempts = attempts - 1, run_after = now(), progress = 0, "
	  " lease_owner = NULL, lease_until = NULL "
	  "WHERE id = $1 AND attempts = $2 AND state = 'active'",
	  2 },
	{ "queue_media_insert",
	  "INSERT INTO media (user_id, project_id, title, kind, mime, path, size_bytes, duration_ms, width, "
	  "height, video_codec, audio_codec, original_name) "
	  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL) "
	  "RETURNING id, " SQL_TS("created_at"),
	  12 },
};

const int queue_statements_count = (int)(sizeof(queue_statements) / sizeof(queue_statements[0]));

int queue_reap_expired(struct db *db)
{
	enum merr err;
	PGresult *r = db_exec(db, "queue_reap", 0, NULL, &err);
	int n;

	if (r == NULL)
		return -1;
	n = (int)strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

enum merr queue_claim(struct db *db, const char *owner, long long lease_s, int max_attempts,
                      struct claimed_job *j)
{
	char lease[24], max[16];
	const char *p[3] = { owner, lease, max };
	enum merr err;
	PGresult *r;

	snprintf(lease, sizeof(lease), "%lld", lease_s);
	snprintf(max, sizeof(max), "%d", max_attempts);
	r = db_exec(db, "queue_claim", 3, p, &err);
	if (r == NULL)
		return err;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return MERR_NOT_FOUND;
	}
	memset(j, 0, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(r, 0, 0));
	j->attempt = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);
	j->max_attempts = (int)strtol(PQgetvalue(r, 0, 2), NULL, 10);
	snprintf(j->preset, sizeof(j->preset), "%s", PQgetvalue(r, 0, 3));
	snprintf(j->input_path, sizeof(j->input_path), "%s", PQgetvalue(r, 0, 4));
	snprintf(j->output_path, sizeof(j->output_path), "%s", PQgetvalue(r, 0, 5));
	snprintf(j->input_kind, sizeof(j->input_kind), "%s", PQgetvalue(r, 0, 6));
	j->input_duration_ms = strtoll(PQgetvalue(r, 0, 7), NULL, 10);
	j->project_id = strtoll(PQgetvalue(r, 0, 8), NULL, 10);
	j->user_id = strtoll(PQgetvalue(r, 0, 9), NULL, 10);
	PQclear(r);
	return MERR_OK;
}

/* Runs a fenced statement (id, attempt, extra...). *lost is set when no row matched. */
static enum merr fenced(struct db *db, const char *stmt, const struct claimed_job *j, int n, const char *a3,
                        const char *a4, bool *lost, bool *flag)
{
	char att[16];
	const char *p[4] = { j->id, att, a3, a4 };
	enum merr err;
	PGresult *r;

	snprintf(att, sizeof(att), "%d", j->attempt);
	r = db_exec(db, stmt, n, p, &err);
	if (r == NULL)
		return err;
	if (lost != NULL)
		*lost = PQntuples(r) == 0 && strtol(PQcmdTuples(r), NULL, 10) == 0;
	if (flag != NULL)
		*flag = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return MERR_OK;
}

enum merr queue_heartbeat(struct db *db, const struct claimed_job *j, int progress, long long lease_s,
                          bool *cancel, bool *lost)
{
	char pr[16], lease[24];

	snprintf(pr, sizeof(pr), "%d", progress);
	snprintf(lease, sizeof(lease), "%lld", lease_s);
	*cancel = false;
	return fenced(db, "queue_heartbeat", j, 4, pr, lease, lost, cancel);
}

enum merr queue_complete(struct db *db, const struct claimed_job *j, struct media *m, bool *lost)
{
	char uid[24], pid[24], size[24], dur[24], w[24], h[24], mid[24];
	const char *p[12] = {
		uid,
		pid,
		m->title,
		m->kind,
		m->mime,
		m->path,
		size,
		m->duration_ms >= 0 ? dur : NULL,
		m->width >= 0 ? w : NULL,
		m->height >= 0 ? h : NULL,
		m->video_codec[0] ? m->video_codec : NULL,
		m->audio_codec[0] ? m->audio_codec : NULL,
	};
	enum merr err;
	PGresult *r;

	snprintf(uid, sizeof(uid), "%lld", (long long)m->user_id);
	snprintf(pid, sizeof(pid), "%lld", (long long)m->project_id);
	snprintf(size, sizeof(size), "%lld", (long long)m->size_bytes);
	snprintf(dur, sizeof(dur), "%lld", (long long)m->duration_ms);
	snprintf(w, sizeof(w), "%lld", (long long)m->width);
	snprintf(h, sizeof(h), "%lld", (long long)m->height);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	r = db_exec(db, "queue_media_insert", 12, p, &err);
	if (r == NULL)
		goto fail;
	m->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(m->created_at, sizeof(m->created_at), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	snprintf(mid, sizeof(mid), "%lld", (long long)m->id);
	err = fenced(db, "queue_complete", j, 3, mid, NULL, lost, NULL);
	if (err != MERR_OK)
		goto fail;
	if (*lost) {
		/* Cancelled meanwhile, or no longer ours: the output is not this attempt's to keep. */
		db_rollback(db);
		return MERR_OK;
	}
	return db_commit(db);
fail:
	db_rollback(db);
	return err;
}

enum merr queue_fail(struct db *db, const struct claimed_job *j, const char *reason, bool retryable,
                     bool *lost)
{
	enum merr err;

	if (retryable && j->attempt < j->max_attempts) {
		err = fenced(db, "queue_retry", j, 3, reason, NULL, lost, NULL);
		if (err != MERR_OK || !*lost)
			return err;
	}
	return fenced(db, "queue_fail", j, 3, reason, NULL, lost, NULL);
}

enum merr queue_cancelled(struct db *db, const struct claimed_job *j)
{
	return fenced(db, "queue_cancelled", j, 2, NULL, NULL, NULL, NULL);
}

enum merr queue_release(struct db *db, const struct claimed_job *j)
{
	return fenced(db, "queue_release", j, 2, NULL, NULL, NULL, NULL);
}
