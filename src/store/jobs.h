/* jobs.h: render jobs as the API sees them (the spawner's side is render/queue.h). */
#ifndef MEDIAD_JOBS_H
#define MEDIAD_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct db;
struct json_object;

#define JOB_ID_LEN 36 /* canonical UUID text */

/* The asset a render would read: asset_id of the project, or its newest when asset_id is 0. */
struct job_input {
	int64_t media_id;
	char path[128];
	char kind[8];
};

/* True when s is a canonical lower- or upper-case UUID (8-4-4-4-12 hex). */
bool job_id_ok(const char *s);
/* MERR_NOT_FOUND when the project has no such asset (or none at all). */
enum merr jobs_pick_input(struct db *db, int64_t user_id, int64_t project_id, int64_t asset_id,
                          struct job_input *in) __attribute__((warn_unused_result));
/* Inserts a waiting job and NOTIFYs spawners; id gets the new UUID, output the output path.
 * MERR_RATE_LIMITED when the user already has max_queued jobs waiting or running. */
enum merr jobs_enqueue(struct db *db, int64_t user_id, int64_t project_id, const struct job_input *in,
                       const char *preset, const char *ext, int max_attempts, long long max_queued,
                       char id[JOB_ID_LEN + 1], char *output, size_t outlen)
        __attribute__((warn_unused_result));
/* The job object of GET /jobs/:id; another user's job is MERR_NOT_FOUND. */
enum merr jobs_get(struct db *db, int64_t user_id, const char *id, struct json_object **out)
        __attribute__((warn_unused_result));
enum merr jobs_list(struct db *db, int64_t user_id, int64_t project_id, int64_t limit, int64_t offset,
                    struct json_object **items, int64_t *total) __attribute__((warn_unused_result));
/*
 * Cancels: a waiting job becomes cancelled now; an active one is flagged and its spawner told
 * (NOTIFY render_cancel), and it becomes cancelled once ffmpeg is stopped. MERR_CONFLICT when the
 * job has already finished.
 */
enum merr jobs_cancel(struct db *db, int64_t user_id, const char *id) __attribute__((warn_unused_result));

#endif
