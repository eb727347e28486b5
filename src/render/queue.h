/* queue.h: the spawner's side of render_jobs: claim, lease, progress, and fenced outcomes. */
#ifndef MEDIAD_QUEUE_H
#define MEDIAD_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/db.h"

struct media;

extern const struct db_stmt queue_statements[];
extern const int queue_statements_count;

struct claimed_job {
	char id[37];
	int attempt; /* the fence: every later write names it */
	int max_attempts;
	char preset[32];
	char input_path[128];
	char output_path[128];
	char input_kind[8];
	int64_t input_duration_ms; /* -1: unknown */
	int64_t project_id;
	int64_t user_id;
};

/* Jobs whose lease ran out (their spawner died) go back to waiting with backoff, or fail once
 * their attempts are spent. Returns the number of jobs touched, or -1. */
int queue_reap_expired(struct db *db);
/* Claims one ready job in one statement (FOR UPDATE SKIP LOCKED): active, attempts + 1, leased
 * to owner for lease_s, its attempt limit lowered to max_attempts if that is lower.
 * MERR_NOT_FOUND when nothing is ready. */
enum merr queue_claim(struct db *db, const char *owner, long long lease_s, int max_attempts,
                      struct claimed_job *j);
/*
 * Records progress and renews the lease. *cancel is set when the job was asked to stop; *lost when
 * this attempt no longer owns the job (another spawner claimed it after our lease ran out).
 */
enum merr queue_heartbeat(struct db *db, const struct claimed_job *j, int progress, long long lease_s,
                          bool *cancel, bool *lost);
/* Completes the job with its output media row, in one transaction. *lost as above. */
enum merr queue_complete(struct db *db, const struct claimed_job *j, struct media *m, bool *lost);
/* Fails the job: retried later with exponential backoff when retryable and attempts remain,
 * failed for good otherwise. reason is shown to the client. */
enum merr queue_fail(struct db *db, const struct claimed_job *j, const char *reason, bool retryable,
                     bool *lost);
enum merr queue_cancelled(struct db *db, const struct claimed_job *j);
/* Gives the job back untouched (spawner shutting down): waiting now, this attempt not counted. */
enum merr queue_release(struct db *db, const struct claimed_job *j);

#endif
