/* queue.c: claim, lease and outcome statements. Every write after the claim is fenced on
 * (id, fence, state = 'active'): a spawner that lost its lease can never overwrite the job's new
 * owner, since a claim always moves the fence on. */
#include "config.h"

#include "render/queue.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/media.h"
#include "store/sqlfmt.h"
#include "util/buf.h"

/* Backoff before retry n (1-based): 1 s, 2 s, 4 s, ... at most 5 minutes. */
#define BACKOFF "make_interval(secs => least(300, power(2, greatest(attempts - 1, 0))))"
/* After an interruption: 1 s, 2 s, 4 s, ... at most a minute (the job did nothing wrong). */
#define IBACKOFF "make_interval(secs => least(60, power(2, interruptions)))"
/* The state a job leaving 'active' without an output goes to, when it would otherwise wait. */
#define WAIT_OR_CANCEL "CASE WHEN cancel_requested THEN 'cancelled' ELSE 'waiting' END"
#define LEASE_OFF "lease_owner = NULL, lease_until = NULL"

const struct db_stmt queue_statements[] = {
	{ "queue_reap",
	  "UPDATE render_jobs SET "
	  " state = CASE WHEN cancel_requested THEN 'cancelled' "
	  "   WHEN interruptions + 1 >= $2::int THEN 'failed' ELSE 'waiting' END, "
	  " failed_reason = CASE WHEN NOT cancel_requested AND interruptions + 1 >= $2::int "
	  "   THEN 'the render was interrupted ' || (interruptions + 1) || ' times "
	  "(its spawner stopped or lost the database)' ELSE failed_reason END, "
	  " finished_at = CASE WHEN cancel_requested OR interruptions + 1 >= $2::int THEN now() END, "
	  " attempts = greatest(attempts - 1, 0), interruptions = interruptions + 1, "
	  " run_after = now() + " IBACKOFF ", " LEASE_OFF " "
	  "WHERE state = 'active' AND lease_until < now() AND id <> ALL ($1::uuid[])",
	  2 },
	{ "queue_claim",
	  /* The row carries the limit mediad had at enqueue; the claiming spawner's own setting can
	   * only lower it, and the row then says so. Fair share, round robin: among ready jobs, those
	   * of the user served least recently (whose last claim is oldest, or who has none) first, then
	   * the oldest; one user's thousand jobs cannot hold back another's one by more than a job per
	   * free slot. */
	  "UPDATE render_jobs j SET state = 'active', attempts = j.attempts + 1, fence = j.fence + 1, "
	  " lease_owner = $1, max_attempts = least(j.max_attempts, $3::int), "
	  " lease_until = now() + make_interval(secs => $2::int), heartbeat_at = now(), started_at = now(), "
	  " progress = 0 "
	  "WHERE j.id = (SELECT w.id FROM render_jobs w "
	  "  WHERE w.state = 'waiting' AND w.run_after <= now() AND NOT w.cancel_requested "
	  "  ORDER BY (SELECT max(a.started_at) FROM render_jobs a WHERE a.user_id = w.user_id) NULLS FIRST, "
	  "   w.run_after, w.created_at FOR UPDATE SKIP LOCKED LIMIT 1) "
	  "RETURNING j.id::text, j.fence, j.attempts, j.max_attempts, j.interruptions, j.preset, j.input_path, "
	  " j.output_path, coalesce((SELECT kind FROM media WHERE id = j.input_media_id), ''), "
	  " coalesce((SELECT duration_ms FROM media WHERE id = j.input_media_id), -1), j.project_id, j.user_id",
	  3 },
	{ "queue_heartbeat",
	  "UPDATE render_jobs SET progress = greatest(progress, $3::int), heartbeat_at = now(), "
	  " lease_until = now() + make_interval(secs => $4::int) "
	  "WHERE id = $1 AND fence = $2 AND state = 'active' RETURNING cancel_requested",
	  4 },
	{ "queue_lock",
	  "SELECT cancel_requested FROM render_jobs WHERE id = $1 AND fence = $2 AND state = 'active' FOR UPDATE",
	  2 },
	{ "queue_complete",
	  "UPDATE render_jobs SET state = 'completed', progress = 100, output_media_id = $3, finished_at = now(), "
	  " failed_reason = NULL, " LEASE_OFF " "
	  "WHERE id = $1 AND fence = $2 AND state = 'active'",
	  3 },
	{ "queue_outcome", "SELECT state, fence = $2 FROM render_jobs WHERE id = $1", 2 },
	{ "queue_retry",
	  "UPDATE render_jobs SET state = " WAIT_OR_CANCEL ", failed_reason = $3, "
	  " finished_at = CASE WHEN cancel_requested THEN now() END, run_after = now() + " BACKOFF
	  ", " LEASE_OFF " "
	  "WHERE id = $1 AND fence = $2 AND state = 'active' AND attempts < max_attempts",
	  3 },
	{ "queue_fail",
	  "UPDATE render_jobs SET state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END, "
	  " failed_reason = $3, finished_at = now(), " LEASE_OFF " "
	  "WHERE id = $1 AND fence = $2 AND state = 'active'",
	  3 },
	{ "queue_cancelled",
	  "UPDATE render_jobs SET state = 'cancelled', finished_at = now(), " LEASE_OFF " "
	  "WHERE id = $1 AND fence = $2 AND state = 'active'",
	  2 },
	{ "queue_release",
	  "UPDATE render_jobs SET state = " WAIT_OR_CANCEL
	  ", attempts = greatest(attempts - 1, 0), run_after = now(), "
	  " finished_at = CASE WHEN cancel_requested THEN now() END, progress = 0, " LEASE_OFF " "
	  "WHERE id = $1 AND fence = $2 AND state = 'active'",
	  2 },
	{ "queue_interrupted",
	  "UPDATE render_jobs SET "
	  " state = CASE WHEN cancel_requested THEN 'cancelled' "
	  "   WHEN interruptions + 1 >= $3::int THEN 'failed' ELSE 'waiting' END, "
	  " failed_reason = CASE WHEN NOT cancel_requested AND interruptions + 1 >= $3::int "
	  "   THEN 'the render was interrupted ' || (interruptions + 1) || ' times "
	  "(its spawner stopped or lost the database)' ELSE failed_reason END, "
	  " finished_at = CASE WHEN cancel_requested OR interruptions + 1 >= $3::int THEN now() END, "
	  " attempts = greatest(attempts - 1, 0), interruptions = interruptions + 1, progress = 0, "
	  " run_after = now() + " IBACKOFF ", " LEASE_OFF " "
	  "WHERE id = $1 AND fence = $2 AND state = 'active'",
	  3 },
	{ "queue_media_insert",
	  "INSERT INTO media (user_id, project_id, title, kind, mime, path, size_bytes, duration_ms, width, "
	  "height, video_codec, audio_codec, original_name, origin, render_job_id) "
	  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, 'render', $13::uuid) "
	  "RETURNING id, " SQL_TS("created_at"),
	  13 },
	{ "queue_spawner_beat",
	  "INSERT INTO spawners AS s (name, host, pid, version, slots, running, last_error, last_error_at) "
	  "VALUES ($1, $2, $3::int, $4, $5::int, $6::int, $7, CASE WHEN $7::text IS NULL THEN NULL ELSE now() END) "
	  "ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version, "
	  " slots = excluded.slots, running = excluded.running, seen_at = now(), "
	  " started_at = CASE WHEN s.pid = excluded.pid THEN s.started_at ELSE now() END, "
	  " last_error = excluded.last_error, "
	  " last_error_at = CASE WHEN excluded.last_error IS NULL THEN NULL "
	  "   WHEN s.last_error IS NOT DISTINCT FROM excluded.last_error THEN s.last_error_at ELSE now() END",
	  7 },
};

const int queue_statements_count = (int)(sizeof(queue_statements) / sizeof(queue_statements[0]));

int queue_reap_expired(struct db *db, const char *const *held, int nheld, int max_interruptions)
{
	struct buf ids = BUF_INIT;
	char maxi[16];
	const char *p[2];
	enum merr err;
	PGresult *r;
	int i, n = -1;

	/* A uuid[] literal of our own ids ({} when none): ids are validated UUIDs from our claims. */
	buf_putc(&ids, '{');
	for (i = 0; i < nheld; i++) {
		if (i > 0)
			buf_putc(&ids, ',');
		buf_puts(&ids, held[i]);
	}
	buf_putc(&ids, '}');
	if (ids.failed)
		goto out;
	snprintf(maxi, sizeof(maxi), "%d", max_interruptions);
	p[0] = ids.data;
	p[1] = maxi;
	r = db_exec(db, "queue_reap", 2, p, &err);
	if (r == NULL)
		goto out;
	n = (int)strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
out:
	buf_free(&ids);
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
	j->fence = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	j->attempt = (int)strtol(PQgetvalue(r, 0, 2), NULL, 10);
	j->max_attempts = (int)strtol(PQgetvalue(r, 0, 3), NULL, 10);
	j->interruptions = (int)strtol(PQgetvalue(r, 0, 4), NULL, 10);
	snprintf(j->preset, sizeof(j->preset), "%s", PQgetvalue(r, 0, 5));
	snprintf(j->input_path, sizeof(j->input_path), "%s", PQgetvalue(r, 0, 6));
	snprintf(j->output_path, sizeof(j->output_path), "%s", PQgetvalue(r, 0, 7));
	snprintf(j->input_kind, sizeof(j->input_kind), "%s", PQgetvalue(r, 0, 8));
	j->input_duration_ms = strtoll(PQgetvalue(r, 0, 9), NULL, 10);
	j->project_id = strtoll(PQgetvalue(r, 0, 10), NULL, 10);
	j->user_id = strtoll(PQgetvalue(r, 0, 11), NULL, 10);
	PQclear(r);
	return MERR_OK;
}

/* Runs a fenced statement (id, fence, extra...). *lost is set when no row matched; *flag to the
 * first column of the one row returned, as a boolean. */
static enum merr fenced(struct db *db, const char *stmt, const struct claimed_job *j, int n, const char *a3,
                        const char *a4, bool *lost, bool *flag)
{
	char fence[24];
	const char *p[4] = { j->id, fence, a3, a4 };
	enum merr err;
	PGresult *r;

	snprintf(fence, sizeof(fence), "%lld", j->fence);
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

enum merr queue_finish_lock(struct db *db, const struct claimed_job *j, bool *owned, bool *cancel)
{
	bool lost = true;
	enum merr err;

	*owned = false;
	*cancel = false;
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	err = fenced(db, "queue_lock", j, 2, NULL, NULL, &lost, cancel);
	if (err != MERR_OK || lost) {
		db_rollback(db);
		return err;
	}
	*owned = true;
	return MERR_OK;
}

enum merr queue_finish_commit(struct db *db, const struct claimed_job *j, struct media *m)
{
	char uid[24], pid[24], size[24], dur[24], w[24], h[24], mid[24];
	const char *p[13] = {
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
		j->id,
	};
	bool lost = false;
	enum merr err;
	PGresult *r;

	snprintf(uid, sizeof(uid), "%lld", (long long)m->user_id);
	snprintf(pid, sizeof(pid), "%lld", (long long)m->project_id);
	snprintf(size, sizeof(size), "%lld", (long long)m->size_bytes);
	snprintf(dur, sizeof(dur), "%lld", (long long)m->duration_ms);
	snprintf(w, sizeof(w), "%lld", (long long)m->width);
	snprintf(h, sizeof(h), "%lld", (long long)m->height);
	r = db_exec(db, "queue_media_insert", 13, p, &err);
	if (r == NULL)
		goto fail;
	m->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(m->created_at, sizeof(m->created_at), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	snprintf(mid, sizeof(mid), "%lld", (long long)m->id);
	err = fenced(db, "queue_complete", j, 3, mid, NULL, &lost, NULL);
	if (err == MERR_OK && lost)
		err = MERR_CONFLICT; /* cannot happen under the row lock; never commit half of it */
	if (err != MERR_OK)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return err;
}

enum merr queue_finish_cancel(struct db *db, const struct claimed_job *j)
{
	enum merr err = fenced(db, "queue_cancelled", j, 2, NULL, NULL, NULL, NULL);

	if (err != MERR_OK) {
		db_rollback(db);
		return err;
	}
	return db_commit(db);
}

enum merr queue_outcome(struct db *db, const struct claimed_job *j, enum queue_outcome *out)
{
	char fence[24];
	const char *p[2] = { j->id, fence };
	enum merr err;
	PGresult *r;

	snprintf(fence, sizeof(fence), "%lld", j->fence);
	r = db_exec(db, "queue_outcome", 2, p, &err);
	if (r == NULL)
		return err;
	*out = QUEUE_ELSEWHERE;
	if (PQntuples(r) == 1) {
		const char *state = PQgetvalue(r, 0, 0);

		if (strcmp(state, "completed") == 0)
			*out = QUEUE_COMPLETED;
		else if (strcmp(state, "active") == 0 && PQgetvalue(r, 0, 1)[0] == 't')
			*out = QUEUE_OURS;
	}
	PQclear(r);
	return MERR_OK;
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

enum merr queue_interrupted(struct db *db, const struct claimed_job *j, int max_interruptions)
{
	char maxi[16];

	snprintf(maxi, sizeof(maxi), "%d", max_interruptions);
	return fenced(db, "queue_interrupted", j, 3, maxi, NULL, NULL, NULL);
}

enum merr queue_spawner_beat(struct db *db, const struct spawner_beat *b)
{
	char pid[24], slots[16], running[16];
	const char *p[7] = { b->name, b->host, pid, PACKAGE_VERSION, slots, running, b->last_error };
	enum merr err;
	PGresult *r;

	snprintf(pid, sizeof(pid), "%ld", b->pid);
	snprintf(slots, sizeof(slots), "%d", b->slots);
	snprintf(running, sizeof(running), "%d", b->running);
	r = db_exec(db, "queue_spawner_beat", 7, p, &err);
	if (r == NULL)
		return err;
	PQclear(r);
	return MERR_OK;
}
