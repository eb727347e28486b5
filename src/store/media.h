/* media.h: media rows: every stored file (asset, /media upload, render output) is one. */
#ifndef MEDIAD_MEDIA_H
#define MEDIAD_MEDIA_H

#include <stdint.h>

#include "core/err.h"
#include "store/rows.h"
#include "store/sqlfmt.h"

struct db;
struct json_object;

#define MEDIA_PATH_MAX 128

/*
 * The media row, one line per column (rows.h): struct media, the select list of every media
 * statement (MEDIA_SELECT), the filling of the struct and media_json all come from this list. A new
 * column is a line here and a migration in schema/.
 */
/* clang-format off */
#define MEDIA_COLUMNS(FIRST, COL)                                                                            \
	FIRST(id,          ROW_INT,                 "id",                    "id",           ROW_NOTNULL)    \
	COL(user_id,       ROW_INT,                 "user_id",               "userId",       ROW_NOTNULL)    \
	/* 0 when the media belongs to no project (a /media upload) */                                       \
	COL(project_id,    ROW_INT,                 "project_id",            "projectId",    ROW_NULL(0))    \
	COL(title,         ROW_STR(1024),           "title",                 "title",        ROW_NOTNULL)    \
	/* image | video | audio */                                                                          \
	COL(kind,          ROW_STR(8),              "kind",                  "kind",         ROW_NOTNULL)    \
	COL(mime,          ROW_STR(64),             "mime",                  "mime",         ROW_NOTNULL)    \
	/* relative to the media root: uploads/<name>.<ext> or outputs/<job>-rendered.<ext> */               \
	COL(path,          ROW_STR(MEDIA_PATH_MAX), "path",                  "path",         ROW_NOTNULL)    \
	COL(size_bytes,    ROW_INT,                 "size_bytes",            "sizeBytes",    ROW_NOTNULL)    \
	/* -1: unknown, or none (an image has no duration, audio no width) */                                \
	COL(duration_ms,   ROW_INT,                 "duration_ms",           "durationMs",   ROW_NULL(-1))   \
	COL(width,         ROW_INT,                 "width",                 "width",        ROW_NULL(-1))   \
	COL(height,        ROW_INT,                 "height",                "height",       ROW_NULL(-1))   \
	COL(video_codec,   ROW_STR(32),             "video_codec",           "videoCodec",   ROW_NULL_EMPTY) \
	COL(audio_codec,   ROW_STR(32),             "audio_codec",           "audioCodec",   ROW_NULL_EMPTY) \
	COL(original_name, ROW_STR(256),            "original_name",         "originalName", ROW_NULL_EMPTY) \
	/* upload | render: set by the database from render_job_id */                                        \
	COL(origin,        ROW_STR(8),              "origin",                "origin",       ROW_NOTNULL)    \
	/* the job that made a render's output; "" for uploads */                                            \
	COL(render_job_id, ROW_STR(37),             "render_job_id::text",   "renderJobId",  ROW_NULL_EMPTY) \
	COL(created_at,    ROW_STR(32),             SQL_TS("created_at"),    "createdAt",    ROW_NOTNULL)    \
	/* processing | ready | failed: follows the media's rendition jobs (schema/007) */                   \
	COL(status,        ROW_STR(16),             "status",                "status",       ROW_NOTNULL)    \
	/* why it is failed: "<preset>: <reason>; ..." */                                                    \
	COL(status_reason, ROW_STR(640),            "status_reason",         "statusReason", ROW_NULL_EMPTY) \
	/* frames per second x 1000 of the first real video stream; -1: unknown or none */                   \
	COL(frame_rate_milli, ROW_INT,  "(frame_rate * 1000)::bigint", NULL,               ROW_NULL(-1))   \
	/* created_at as a Unix time, for Last-Modified */                                                   \
	COL(mtime,         ROW_INT,                 SQL_EPOCH("created_at"), NULL,           ROW_NOTNULL)
/* clang-format on */

struct media {
	ROW_STRUCT(MEDIA_COLUMNS)
};

#define MEDIA_SELECT ROW_SELECT(MEDIA_COLUMNS)

/*
 * The one insert of a media row, for uploads and render outputs: in both statement tables (mediad's
 * in statements.c, the spawner's in render/queue.c); media_insert fills its parameters. origin
 * follows from render_job_id, which only a render's output has.
 */
#define MEDIA_INSERT_STMT                                                                                             \
	{                                                                                                             \
		"media_insert",                                                                                       \
		        "INSERT INTO media (user_id, project_id, title, kind, mime, path, size_bytes, duration_ms, "  \
		        "width, height, video_codec, audio_codec, original_name, render_job_id, origin, frame_rate) " \
		        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::uuid, "                 \
		        "CASE WHEN $14::uuid IS NULL THEN 'upload' ELSE 'render' END, $15::numeric / 1000) "          \
		        "RETURNING " MEDIA_SELECT,                                                                    \
		        15                                                                                            \
	}

/* A media row as to_jsonb wrote it (the webhook_events.subject of a media.* event), read back
 * through MEDIA_SELECT; in the statement table of each program that calls media_snapshot. */
#define MEDIA_SNAPSHOT_STMT                                                                             \
	{                                                                                               \
		"media_snapshot",                                                                       \
		        "SELECT " MEDIA_SELECT " FROM jsonb_populate_record(NULL::media, $1::jsonb)", 1 \
	}

/*
 * Inserts m: a render's output when m->render_job_id is set (origin render), an upload otherwise.
 * Fills every other column of m (id, origin, created_at, ...) from the row stored.
 */
enum merr media_insert(struct db *db, struct media *m) __attribute__((warn_unused_result));
/* Work that must commit with a media row or not at all (a tus upload marked complete): run by
 * media_insert_within in its transaction, after the insert filled m. Its error rolls the whole back. */
typedef enum merr (*media_insert_hook)(struct db *db, const struct media *m, void *arg);

/*
 * media_insert under a quota: one transaction locks the user's row (so concurrent uploads of one
 * user take turns here, after their files are complete, and with tus creations), adds up what the
 * user stores and what its open uploads reserve (media_usage_reserved: upload_id, the upload m
 * completes, reserves nothing beside m; NULL for any other file), and inserts m only if that plus
 * m->size_bytes stays within quota bytes; otherwise nothing is inserted and the answer is
 * MERR_QUOTA_EXCEEDED. quota <= 0 is no quota. presets (NULL or "": none)
 * is a PostgreSQL text[] literal of rendition presets ("{hls,poster}"): their jobs are enqueued in
 * the same transaction (jobs_enqueue_renditions) and m->status says 'processing'. then (NULL: none)
 * runs last in the same transaction with arg.
 */
enum merr media_insert_within(struct db *db, struct media *m, int64_t quota, const char *upload_id,
                              const char *presets, int max_attempts, media_insert_hook then, void *arg)
        __attribute__((warn_unused_result));
/* The bytes user_id's media take, render outputs and renditions included, into *bytes. */
enum merr media_usage(struct db *db, int64_t user_id, int64_t *bytes) __attribute__((warn_unused_result));
/* media_usage plus the Upload-Length of each of the user's open (receiving, unexpired) tus uploads
 * but upload_id's (NULL: none): what the quota leaves no room beside. */
enum merr media_usage_reserved(struct db *db, int64_t user_id, const char *upload_id, int64_t *bytes)
        __attribute__((warn_unused_result));
/* The media id owned by user_id. Another user's media is MERR_NOT_FOUND. */
enum merr media_get(struct db *db, int64_t user_id, int64_t id, struct media *m)
        __attribute__((warn_unused_result));
/* The media id whoever owns it: for stream links, where the signature is the authorisation. */
enum merr media_get_any(struct db *db, int64_t id, struct media *m) __attribute__((warn_unused_result));
/* Own media, newest first; project_id > 0 restricts to one project's assets, origin (NULL: any)
 * to uploads ("upload") or render outputs ("render"). */
enum merr media_list(struct db *db, int64_t user_id, int64_t project_id, const char *origin, int64_t limit,
                     int64_t offset, struct json_object **items, int64_t *total)
        __attribute__((warn_unused_result));
/* Deletes the row; path receives the file to remove (MEDIA_PATH_MAX bytes), dirs the folders of
 * its renditions ("outputs/<job>,outputs/<job>", "" when none), to remove with them. */
enum merr media_delete(struct db *db, int64_t user_id, int64_t id, char *path, char *dirs, size_t dirslen)
        __attribute__((warn_unused_result));
/* The media row of subject, a to_jsonb(media) snapshot (MEDIA_SNAPSHOT_STMT), into *m. A snapshot
 * the row type cannot read is MERR_BAD_REQUEST. */
enum merr media_snapshot(struct db *db, const char *subject, struct media *m)
        __attribute__((warn_unused_result));
/* media_json with the media's stored renditions and rendition jobs (renditions_json) in place of
 * its empty "renditions" and "renditionJobs", as GET /media/:id shows it, into *out (caller owns
 * it; NULL on error). MERR_INTERNAL on out of memory. */
enum merr media_json_stored(struct db *db, const struct media *m, struct json_object **out)
        __attribute__((warn_unused_result));
/* The JSON shape of a media row (assets, /media and lists share it). Caller owns it; NULL on out of
 * memory. */
struct json_object *media_json(const struct media *m);

#endif
