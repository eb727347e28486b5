/* jobs.h: render jobs as the API sees them (the spawner's side is render/queue.h). */
#ifndef MEDIAD_JOBS_H
#define MEDIAD_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/rows.h"
#include "store/sqlfmt.h"

struct db;
struct json_object;

#define JOB_ID_LEN 36 /* canonical UUID text */

/* The output's path, once the job has completed. */
#define JOB_RESULT_SQL "CASE WHEN state = 'completed' THEN output_path END"
/* The job row as the API shows it, one line per column (rows.h): the select list (JOB_SELECT) and
 * the JSON. */
/* clang-format off */
#define JOB_COLUMNS(FIRST, COL)                                                                \
	FIRST(id,            ROW_TEXT, "id::text",            "id",            ROW_NOTNULL)    \
	COL(state,           ROW_TEXT, "state",               "state",         ROW_NOTNULL)    \
	COL(progress,        ROW_INT,  "progress",            "progress",      ROW_NOTNULL)    \
	COL(result,          ROW_TEXT, JOB_RESULT_SQL,        "result",        ROW_NULL_EMPTY) \
	COL(failed_reason,   ROW_TEXT, "failed_reason",       "failedReason",  ROW_NULL_EMPTY) \
	/* null for a /media upload's automatic renditions */                                  \
	COL(project_id,      ROW_INT,  "project_id",          "projectId",     ROW_NULL(0))    \
	COL(preset,          ROW_TEXT, "preset",              "preset",        ROW_NOTNULL)    \
	COL(attempts,        ROW_INT,  "attempts",            "attempts",      ROW_NOTNULL)    \
	COL(created_at,      ROW_TEXT, SQL_TS("created_at"),  "createdAt",     ROW_NOTNULL)    \
	COL(started_at,      ROW_TEXT, SQL_TS("started_at"),  "startedAt",     ROW_NULL_EMPTY) \
	COL(finished_at,     ROW_TEXT, SQL_TS("finished_at"), "finishedAt",    ROW_NULL_EMPTY) \
	COL(output_media_id, ROW_INT,  "output_media_id",     "outputMediaId", ROW_NULL(0))
/* clang-format on */
#define JOB_SELECT ROW_SELECT(JOB_COLUMNS)

/*
 * A render_jobs row as to_jsonb wrote it (the webhook_events.subject of a job.* event), back
 * through the API's column list: the same JSON GET /jobs/:id gives. In the statement table of
 * each program that calls jobs_snapshot_json (media-hooks).
 */
#define JOBS_SNAPSHOT_STMT                                                                                  \
	{                                                                                                   \
		"jobs_snapshot",                                                                            \
		        "SELECT " JOB_SELECT " FROM jsonb_populate_record(NULL::render_jobs, $1::jsonb)", 1 \
	}

/* The asset a render would read: asset_id of the project, or its newest when asset_id is 0. Its
 * columns, of media m (rows.h): */
/* clang-format off */
#define JOB_INPUT_COLUMNS(FIRST, COL)                              \
	FIRST(media_id, ROW_INT,      "m.id",   NULL, ROW_NOTNULL) \
	COL(path,       ROW_STR(128), "m.path", NULL, ROW_NOTNULL) \
	COL(kind,       ROW_STR(8),   "m.kind", NULL, ROW_NOTNULL)
/* clang-format on */
struct job_input {
	ROW_STRUCT(JOB_INPUT_COLUMNS)
};
#define JOB_INPUT_SELECT ROW_SELECT(JOB_INPUT_COLUMNS)

/* True when s is a canonical lower- or upper-case UUID (8-4-4-4-12 hex). */
bool job_id_ok(const char *s);
/* MERR_NOT_FOUND when the project has no such asset (or none at all). */
enum merr jobs_pick_input(struct db *db, int64_t user_id, int64_t project_id, int64_t asset_id,
                          struct job_input *in) __attribute__((warn_unused_result));
/* Inserts a waiting job and NOTIFYs spawners; id gets the new UUID, output the output path.
 * project_id 0: none (a rendition of a /media upload).
 * MERR_RATE_LIMITED when the user already has max_queued jobs waiting or running. */
enum merr jobs_enqueue(struct db *db, int64_t user_id, int64_t project_id, const struct job_input *in,
                       const char *preset, const char *ext, int max_attempts, long long max_queued,
                       char id[JOB_ID_LEN + 1], char *output, size_t outlen)
        __attribute__((warn_unused_result));
/*
 * Enqueues a job for each rendition preset in presets (a text[] literal of validated names,
 * "{hls,poster}") on media_id, its output the folder outputs/<job id>, and NOTIFYs spawners.
 * Runs inside the caller's transaction (media_insert_within). Not counted against
 * render_max_queued_per_user: uploads are bounded by their own limits, and an upload must not fail
 * because its user has renders waiting.
 */
enum merr jobs_enqueue_renditions(struct db *db, int64_t media_id, const char *presets, int max_attempts)
        __attribute__((warn_unused_result));
/* The job object of GET /jobs/:id; another user's job is MERR_NOT_FOUND. */
enum merr jobs_get(struct db *db, int64_t user_id, const char *id, struct json_object **out)
        __attribute__((warn_unused_result));
/* The job object of GET /jobs/:id made from subject, a to_jsonb(render_jobs) snapshot
 * (JOBS_SNAPSHOT_STMT), into *out (caller owns it). A snapshot the row type cannot read is
 * MERR_BAD_REQUEST. */
enum merr jobs_snapshot_json(struct db *db, const char *subject, struct json_object **out)
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
