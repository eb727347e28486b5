/* queue.c: claim, lease and outcome statements. Every write after the claim is fenced on
 * (id, fence, state = 'active'): a spawner that lost its lease can never overwrite the job's new
 * owner, since a claim always moves the fence on. */
#include "config.h"

#include "render/queue.h"

#include "render/rendition.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/media.h"
#include "store/params.h"
#include "store/rows.h"
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
	  "RETURNING " ROW_SELECT(CLAIMED_JOB_COLUMNS),
	  3 },
	{ "queue_heartbeat",
	  "UPDATE render_jobs SET progress = greatest(progress, $3::int), heartbeat_at = now(), "
	  " lease_until = now() + make_interval(secs => $4::int) "
	  "WHERE id = $1 AND fence = $2 AND state = 'active' RETURNING cancel_requested",
	  4 },
	{ "queue_lock",
	  "SELECT cancel_requested FROM render_jobs WHERE id = $1 AND fence = $2 AND state = 'active' FOR UPDATE",
	  2 },
	/* clock_timestamp(), not now(): the finishing transaction began before the rename and the media
	 * row, and finished_at - started_at is the job's time as the bench measures it. */
	{ "queue_complete",
	  "UPDATE render_jobs SET state = 'completed', progress = 100, output_media_id = $3, "
	  " finished_at = clock_timestamp(), "
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
	/* A rendition job's rows replace that kind's of the media (schema/007): the folders of the
	 * ones replaced are removed after the commit. */
	{ "queue_rend_replace",
	  "WITH d AS (DELETE FROM media_renditions r USING render_jobs j "
	  " WHERE j.id = $1 AND r.media_id = j.input_media_id AND r.kind = $2 RETURNING r.dir) "
	  "SELECT DISTINCT dir FROM d",
	  2 },
	/* First in the finishing transaction (after the job's own row): the media row, so that two
	 * rendition jobs of one media finishing at once take turns here, and the second one's later
	 * statements see what the first committed. NO KEY UPDATE: the rendition rows' foreign-key
	 * checks (KEY SHARE) do not wait on it, and the status trigger takes the same lock. */
	{ "queue_rend_lock",
	  "SELECT 1 FROM media m JOIN render_jobs j ON m.id = j.input_media_id WHERE j.id = $1 "
	  "FOR NO KEY UPDATE OF m",
	  1 },
	/* media.renditions_bytes after the rows changed (schema/008): the media row is ours already. */
	{ "queue_rend_bytes",
	  "UPDATE media m SET renditions_bytes = (SELECT coalesce(sum(r.size_bytes), 0) FROM media_renditions r "
	  "WHERE r.media_id = m.id) FROM render_jobs j WHERE j.id = $1 AND m.id = j.input_media_id",
	  1 },
	/* Whether the media holds renditions of this kind from a job enqueued after ours: two jobs
	 * of one kind may finish in either order, and the newer one's renditions stay. */
	{ "queue_rend_newer",
	  "SELECT EXISTS (SELECT 1 FROM render_jobs j, media_renditions r JOIN render_jobs n ON n.id = r.job_id "
	  "WHERE j.id = $1 AND r.media_id = j.input_media_id AND r.kind = $2 "
	  "AND (n.created_at, n.id) > (j.created_at, j.id))",
	  2 },
	/* No row when the media is gone (input_media_id was set to NULL by its delete). */
	{ "queue_rend_insert",
	  "INSERT INTO media_renditions (media_id, job_id, kind, name, dir, path, width, height, bandwidth, "
	  " average_bandwidth, codecs, frame_rate, size_bytes) "
	  "SELECT j.input_media_id, j.id, $2, $3, j.output_path, $4, $5, $6, $7, $8, $9, $10::numeric / 1000, $11 "
	  "FROM render_jobs j WHERE j.id = $1 AND j.input_media_id IS NOT NULL",
	  11 },
	/* A render output is a media row like an upload: the one insert (store/media.h). */
	MEDIA_INSERT_STMT,
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

#define CLAIMED_JOB_COL(...) ROW_COL(struct claimed_job, __VA_ARGS__)
static const struct row_col claimed_job_cols[] = { CLAIMED_JOB_COLUMNS(CLAIMED_JOB_COL, CLAIMED_JOB_COL) };
static const struct row_table claimed_job_table = ROW_TABLE(claimed_job_cols);

int queue_reap_expired(struct db *db, const char *const *held, int nheld, int max_interruptions)
{
	struct buf ids = BUF_INIT;
	struct params p = PARAMS_INIT;
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
	params_str(&p, ids.data);
	params_int(&p, max_interruptions);
	r = row_exec(db, "queue_reap", &p, &err);
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
	struct params p = PARAMS_INIT;

	params_str(&p, owner);
	params_int(&p, lease_s);
	params_int(&p, max_attempts);
	return row_one(db, "queue_claim", &p, &claimed_job_table, j);
}

/* The parameters every fenced statement starts with: $1 the job, $2 the fence of this attempt. */
static void job_params(struct params *p, const struct claimed_job *j)
{
	params_str(p, j->id);
	params_int(p, j->fence);
}

/* Runs a fenced statement with p (job_params, then its own). *lost is set when no row matched;
 * *flag to the first column of the one row returned, as a boolean. */
static enum merr fenced(struct db *db, const char *stmt, const struct params *p, bool *lost, bool *flag)
{
	enum merr err;
	PGresult *r = row_exec(db, stmt, p, &err);

	if (r == NULL)
		return err;
	if (lost != NULL)
		*lost = PQntuples(r) == 0 && strtol(PQcmdTuples(r), NULL, 10) == 0;
	if (flag != NULL)
		*flag = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return MERR_OK;
}

/* fenced, for the statements that take only the job and its fence. */
static enum merr fenced_job(struct db *db, const char *stmt, const struct claimed_job *j, bool *lost,
                            bool *flag)
{
	struct params p = PARAMS_INIT;

	job_params(&p, j);
	return fenced(db, stmt, &p, lost, flag);
}

enum merr queue_heartbeat(struct db *db, const struct claimed_job *j, int progress, long long lease_s,
                          bool *cancel, bool *lost)
{
	struct params p = PARAMS_INIT;

	job_params(&p, j);
	params_int(&p, progress);
	params_int(&p, lease_s);
	*cancel = false;
	return fenced(db, "queue_heartbeat", &p, lost, cancel);
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
	err = fenced_job(db, "queue_lock", j, &lost, cancel);
	if (err != MERR_OK || lost) {
		db_rollback(db);
		return err;
	}
	*owned = true;
	return MERR_OK;
}

enum merr queue_finish_commit(struct db *db, const struct claimed_job *j, struct media *m)
{
	struct params p = PARAMS_INIT;
	bool lost = false;
	enum merr err;

	/* Names the job: the row is a render's output (origin render), not an upload. */
	snprintf(m->render_job_id, sizeof(m->render_job_id), "%s", j->id);
	err = media_insert(db, m);
	if (err != MERR_OK)
		goto out;
	job_params(&p, j);
	params_int(&p, m->id);
	err = fenced(db, "queue_complete", &p, &lost, NULL);
	if (err == MERR_OK && lost)
		err = MERR_CONFLICT; /* cannot happen under the row lock; never commit half of it */
out:
	return db_end(db, err);
}

enum merr queue_finish_renditions(struct db *db, const struct claimed_job *j, const char *kind,
                                  const struct rend_row *rows, int n, char *old_dirs, size_t oldlen,
                                  bool *superseded)
{
	struct params p = PARAMS_INIT;
	size_t o = 0;
	bool lost = false;
	enum merr err;
	PGresult *r;
	int i;

	if (oldlen > 0)
		old_dirs[0] = '\0';
	*superseded = false;
	params_str(&p, j->id);
	r = row_exec(db, "queue_rend_lock", &p, &err);
	if (r == NULL)
		goto out;
	PQclear(r); /* no row: the media is gone, which the insert below reports */
	params_str(&p, kind);
	r = row_exec(db, "queue_rend_newer", &p, &err);
	if (r == NULL)
		goto out;
	*superseded = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (*superseded) {
		n = 0; /* the job completes, its renditions never recorded */
		goto complete;
	}
	r = row_exec(db, "queue_rend_replace", &p, &err);
	if (r == NULL)
		goto out;
	for (i = 0; i < PQntuples(r); i++) {
		const char *d = PQgetvalue(r, i, 0);
		size_t len = strlen(d) + 1;

		/* Our own folder (a retry of this job) is not removed; one that does not fit is left
		 * for an administrator: removing less is the safe side. */
		if (strcmp(d, j->output_path) != 0 && o + len < oldlen) {
			memcpy(old_dirs + o, d, len);
			o += len;
			old_dirs[o] = '\0';
		}
	}
	PQclear(r);
	for (i = 0; i < n; i++) {
		const struct rend_row *w = &rows[i];

		p.n = 0; /* the same statement again, new values */
		params_str(&p, j->id);
		params_str(&p, kind);
		params_str(&p, w->name);
		params_str(&p, w->path);
		params_int_or_null(&p, w->width, -1);
		params_int_or_null(&p, w->height, -1);
		params_int_or_null(&p, w->bandwidth, -1);
		params_int_or_null(&p, w->average_bandwidth, -1);
		params_str_or_null(&p, w->codecs);
		params_int_or_null(&p, w->frame_rate_milli, -1);
		params_int(&p, w->size_bytes);
		r = row_exec(db, "queue_rend_insert", &p, &err);
		if (r == NULL)
			goto out;
		lost = strtol(PQcmdTuples(r), NULL, 10) != 1;
		PQclear(r);
		if (lost) {
			err = MERR_NOT_FOUND;
			goto out;
		}
	}
	p.n = 0;
	params_str(&p, j->id);
	err = row_run(db, "queue_rend_bytes", &p);
	if (err != MERR_OK)
		goto out;
complete:
	p.n = 0;
	job_params(&p, j);
	params_null(&p);
	err = fenced(db, "queue_complete", &p, &lost, NULL);
	if (err == MERR_OK && lost)
		err = MERR_CONFLICT;
out:
	return db_end(db, err);
}

enum merr queue_finish_cancel(struct db *db, const struct claimed_job *j)
{
	return db_end(db, fenced_job(db, "queue_cancelled", j, NULL, NULL));
}

enum merr queue_outcome(struct db *db, const struct claimed_job *j, enum queue_outcome *out)
{
	struct params p = PARAMS_INIT;
	enum merr err;
	PGresult *r;

	job_params(&p, j);
	r = row_exec(db, "queue_outcome", &p, &err);
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
	struct params p = PARAMS_INIT;
	enum merr err;

	job_params(&p, j);
	params_str(&p, reason);
	if (retryable && j->attempt < j->max_attempts) {
		err = fenced(db, "queue_retry", &p, lost, NULL);
		if (err != MERR_OK || !*lost)
			return err;
	}
	return fenced(db, "queue_fail", &p, lost, NULL);
}

enum merr queue_cancelled(struct db *db, const struct claimed_job *j)
{
	return fenced_job(db, "queue_cancelled", j, NULL, NULL);
}

enum merr queue_release(struct db *db, const struct claimed_job *j)
{
	return fenced_job(db, "queue_release", j, NULL, NULL);
}

enum merr queue_interrupted(struct db *db, const struct claimed_job *j, int max_interruptions)
{
	struct params p = PARAMS_INIT;

	job_params(&p, j);
	params_int(&p, max_interruptions);
	return fenced(db, "queue_interrupted", &p, NULL, NULL);
}

enum merr queue_spawner_beat(struct db *db, const struct spawner_beat *b)
{
	struct params p = PARAMS_INIT;

	params_str(&p, b->name);
	params_str(&p, b->host);
	params_int(&p, b->pid);
	params_str(&p, PACKAGE_VERSION);
	params_int(&p, b->slots);
	params_int(&p, b->running);
	params_str(&p, b->last_error);
	return row_run(db, "queue_spawner_beat", &p);
}
