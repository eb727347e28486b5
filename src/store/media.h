/* media.h: media rows: every stored file (asset, /media upload, render output) is one. */
#ifndef MEDIAD_MEDIA_H
#define MEDIAD_MEDIA_H

#include <stdint.h>

#include "core/err.h"

struct db;
struct json_object;

#define MEDIA_PATH_MAX 128

struct media {
	int64_t id;
	int64_t user_id;
	int64_t project_id; /* 0 when the media belongs to no project */
	char title[1024];
	char kind[8]; /* image | video | audio */
	char mime[64];
	char path[MEDIA_PATH_MAX]; /* relative to the media root: uploads/<name>.<ext> */
	int64_t size_bytes;
	int64_t duration_ms; /* -1: unknown */
	int64_t width;       /* -1: none */
	int64_t height;
	char video_codec[32];
	char audio_codec[32];
	char original_name[256];
	char origin[8];         /* upload | render */
	char render_job_id[37]; /* the job that made a render's output; "" for uploads */
	char created_at[32];
	int64_t mtime; /* created_at as a Unix time, for Last-Modified */
};

/* Inserts m; fills m->id, created_at and mtime. */
enum merr media_insert(struct db *db, struct media *m) __attribute__((warn_unused_result));
/*
 * media_insert under a quota: one transaction locks the user's row (so concurrent uploads of one
 * user take turns here, after their files are complete), adds up what the user stores, and
 * inserts m only if that plus m->size_bytes stays within quota bytes; otherwise nothing is
 * inserted and the answer is MERR_QUOTA_EXCEEDED. quota <= 0 is no quota: a plain media_insert.
 */
enum merr media_insert_within(struct db *db, struct media *m, int64_t quota)
        __attribute__((warn_unused_result));
/* The bytes user_id's media take, render outputs included, into *bytes. */
enum merr media_usage(struct db *db, int64_t user_id, int64_t *bytes) __attribute__((warn_unused_result));
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
/* Deletes the row; path receives the file to remove (MEDIA_PATH_MAX bytes). */
enum merr media_delete(struct db *db, int64_t user_id, int64_t id, char *path)
        __attribute__((warn_unused_result));
/* The JSON shape of a media row (assets and /media share it). Caller owns it. */
struct json_object *media_json(const struct media *m);

#endif
