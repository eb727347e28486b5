/* queue.h: the spawner's side of render_jobs: claim, lease, progress, and fenced outcomes. */
#ifndef MEDIAD_QUEUE_H
#define MEDIAD_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/db.h"
#include "store/rows.h"

struct media;

extern const struct db_stmt queue_statements[];
extern const int queue_statements_count;

/* A job as queue_claim returns it, one line per column of render_jobs j (rows.h). */
/* clang-format off */
#define CLAIMED_JOB_COLUMNS(FIRST, COL)                                                              \
	FIRST(id,              ROW_STR(37),        "j.id::text",               NULL, ROW_NOTNULL)    \
	/* claims of this job so far, ours included: every later write names it */                   \
	COL(fence,             ROW_NUM(long long), "j.fence",                  NULL, ROW_NOTNULL)    \
	/* runs charged to the job, this one included (shown as attempts) */                         \
	COL(attempt,           ROW_NUM(int),       "j.attempts",               NULL, ROW_NOTNULL)    \
	COL(max_attempts,      ROW_NUM(int),       "j.max_attempts",           NULL, ROW_NOTNULL)    \
	COL(interruptions,     ROW_NUM(int),       "j.interruptions",          NULL, ROW_NOTNULL)    \
	COL(preset,            ROW_STR(32),        "j.preset",                 NULL, ROW_NOTNULL)    \
	COL(input_path,        ROW_STR(128),       "j.input_path",             NULL, ROW_NOTNULL)    \
	COL(output_path,       ROW_STR(128),       "j.output_path",            NULL, ROW_NOTNULL)    \
	/* "" when the input's media row is gone */                                                  \
	COL(input_kind,        ROW_STR(8),         CLAIM_INPUT("kind"),        NULL, ROW_NULL_EMPTY) \
	/* -1: unknown */                                                                            \
	COL(input_duration_ms, ROW_INT,            CLAIM_INPUT("duration_ms"), NULL, ROW_NULL(-1))   \
	/* 0: none (a /media upload's automatic renditions) */                                       \
	COL(project_id,        ROW_INT,            "j.project_id",             NULL, ROW_NULL(0))    \
	COL(user_id,           ROW_INT,            "j.user_id",                NULL, ROW_NOTNULL)    \
	/* what a rendition's ladder needs of the input: its size as shown, audio, frame rate */    \
	COL(input_width,       ROW_INT,            CLAIM_INPUT("width"),       NULL, ROW_NULL(-1))   \
	COL(input_height,      ROW_INT,            CLAIM_INPUT("height"),      NULL, ROW_NULL(-1))   \
	COL(input_audio_codec, ROW_STR(32),        CLAIM_INPUT("audio_codec"), NULL, ROW_NULL_EMPTY) \
	COL(input_fps_milli,   ROW_INT,            CLAIM_INPUT("(frame_rate * 1000)::bigint"), NULL, ROW_NULL(-1))
/* clang-format on */
/* A column of the job's input media row (NULL when it is gone). */
#define CLAIM_INPUT(col) "(SELECT " col " FROM media WHERE id = j.input_media_id)"

struct claimed_job {
	ROW_STRUCT(CLAIMED_JOB_COLUMNS)
};

/*
 * Jobs whose lease ran out (their spawner died or lost the database) go back to waiting with a
 * short backoff, their run not charged to them (attempts - 1, interruptions + 1); a job
 * interrupted max_interruptions times fails, and one whose cancel was asked for is cancelled.
 * held[0..nheld) are the ids this spawner runs: never reaped by it, whatever their lease says.
 * Returns the number of jobs touched, or -1.
 */
int queue_reap_expired(struct db *db, const char *const *held, int nheld, int max_interruptions)
        __attribute__((warn_unused_result));
/*
 * Claims one ready job in one statement (FOR UPDATE SKIP LOCKED): active, fence + 1, attempts + 1,
 * leased to owner for lease_s, its attempt limit lowered to max_attempts if that is lower. Fair
 * across users: the ready job of the user served least recently goes first, then the oldest.
 * MERR_NOT_FOUND when nothing is ready. A lost reply is not retried (the claim may have happened:
 * that job's lease then runs out and the reaper returns it, uncharged).
 */
enum merr queue_claim(struct db *db, const char *owner, long long lease_s, int max_attempts,
                      struct claimed_job *j) __attribute__((warn_unused_result));
/*
 * Records progress and renews the lease. *cancel is set when the job was asked to stop; *lost when
 * this attempt no longer owns the job (another spawner claimed it after our lease ran out).
 */
enum merr queue_heartbeat(struct db *db, const struct claimed_job *j, int progress, long long lease_s,
                          bool *cancel, bool *lost) __attribute__((warn_unused_result));

/*
 * Finishing, in three steps, so that a file a committed row may point at is never replaced or
 * removed by another attempt:
 * 1. queue_finish_lock: BEGIN and lock the job's row if this attempt still owns it (fence, active).
 *    While the lock is held no reaper, claim or cancel can change the job, so the caller may put
 *    its output at output_path (replacing what an earlier, uncommitted attempt left there).
 *    *owned false: the transaction is already over (rolled back). *cancel: the owner is asked to
 *    stop; the caller then calls queue_finish_cancel.
 * 2. queue_finish_commit: inserts m with media_insert (naming the job in m->render_job_id, and
 *    filling m from the row stored) and completes the job, COMMIT. MERR_UNAVAILABLE means the
 *    outcome is unknown (the COMMIT's reply may be lost): ask queue_outcome.
 *    queue_finish_cancel: marks the job cancelled, COMMIT.
 * 3. queue_outcome: what the row says now.
 * On an error of step 1 or 2 the transaction is rolled back (or the connection is gone).
 */
enum merr queue_finish_lock(struct db *db, const struct claimed_job *j, bool *owned, bool *cancel)
        __attribute__((warn_unused_result));
enum merr queue_finish_commit(struct db *db, const struct claimed_job *j, struct media *m)
        __attribute__((warn_unused_result));
/*
 * Step 2 for a rendition job: replaces the input media's renditions of kind with rows[0..n) of the
 * folder output_path and completes the job, COMMIT. old_dirs receives the folders (relative to the
 * media root, NUL-separated, at most oldlen bytes) of the renditions replaced, to remove once this
 * has committed. MERR_NOT_FOUND: the media was deleted meanwhile (rolled back). *superseded: the
 * media already holds renditions of kind from a job enqueued after this one; then nothing is
 * recorded, the job completes, and the caller removes output_path after the commit.
 */
struct rend_row;
enum merr queue_finish_renditions(struct db *db, const struct claimed_job *j, const char *kind,
                                  const struct rend_row *rows, int n, char *old_dirs, size_t oldlen,
                                  bool *superseded) __attribute__((warn_unused_result));
enum merr queue_finish_cancel(struct db *db, const struct claimed_job *j) __attribute__((warn_unused_result));

enum queue_outcome {
	QUEUE_COMPLETED, /* completed (by this job's output) */
	QUEUE_OURS,      /* still active under this attempt's fence: nothing was recorded */
	QUEUE_ELSEWHERE, /* anything else: re-queued, claimed again, cancelled, failed or gone */
};
enum merr queue_outcome(struct db *db, const struct claimed_job *j, enum queue_outcome *out)
        __attribute__((warn_unused_result));

/* Fails the job: retried later with exponential backoff when retryable and attempts remain,
 * failed for good otherwise (cancelled if a cancel was asked for). reason is shown to the client. */
enum merr queue_fail(struct db *db, const struct claimed_job *j, const char *reason, bool retryable,
                     bool *lost) __attribute__((warn_unused_result));
enum merr queue_cancelled(struct db *db, const struct claimed_job *j) __attribute__((warn_unused_result));
/* Gives the job back untouched (spawner shutting down, or a fault of the spawner's own: ffmpeg
 * missing, disk full): waiting now, this run not charged to it. */
enum merr queue_release(struct db *db, const struct claimed_job *j) __attribute__((warn_unused_result));
/* This attempt lost its lease (the database was out of reach): back to waiting, the run counted
 * as an interruption, not charged; failed after max_interruptions. No-op if no longer ours. */
enum merr queue_interrupted(struct db *db, const struct claimed_job *j, int max_interruptions)
        __attribute__((warn_unused_result));

/* The spawner's heartbeat row (table spawners); last_error NULL when all is well. */
struct spawner_beat {
	const char *name;
	const char *host;
	long pid;
	int slots;
	int running;
	const char *last_error;
};
enum merr queue_spawner_beat(struct db *db, const struct spawner_beat *b) __attribute__((warn_unused_result));

#endif
