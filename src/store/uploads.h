/* uploads.h: resumable (tus) upload rows, always scoped to their owner. */
#ifndef MEDIAD_UPLOADS_H
#define MEDIAD_UPLOADS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "store/rows.h"
#include "store/sqlfmt.h"

struct db;

#define UPLOAD_ID_LEN 36 /* canonical UUID text */
/* Upload-Metadata as sent, bytes (schema/010_uploads.sql checks it too). */
#define UPLOAD_METADATA_MAX 4096

/* The upload row, one line per column (rows.h). No JSON: tus speaks in headers. */
/* clang-format off */
#define UPLOAD_COLUMNS(FIRST, COL)                                                                 \
	FIRST(id,       ROW_STR(UPLOAD_ID_LEN + 1), "id::text",               NULL, ROW_NOTNULL)   \
	COL(user_id,    ROW_INT,                    "user_id",                NULL, ROW_NOTNULL)   \
	/* 0: a /media upload; else the project the asset goes to */                               \
	COL(project_id, ROW_INT,                    "project_id",             NULL, ROW_NULL(0))   \
	COL(length,     ROW_INT,                    "upload_length",          NULL, ROW_NOTNULL)   \
	/* bytes on the disk, fdatasync'd: the truth a client resumes from; below length until \
	 * the media row is committed */                                                           \
	COL(offset,     ROW_INT,                    "upload_offset",          NULL, ROW_NOTNULL)   \
	COL(filename,   ROW_STR(256),               "filename",               NULL, ROW_NOTNULL)   \
	COL(title,      ROW_STR(1024),              "title",                  NULL, ROW_NOTNULL)   \
	/* "" | image | video | audio: the client's type, checked against ffprobe's */             \
	COL(kind,       ROW_STR(8),                 "kind",                   NULL, ROW_NOTNULL)   \
	/* Upload-Metadata as the client sent it ("" when none), for HEAD */                       \
	COL(metadata,   ROW_STR(UPLOAD_METADATA_MAX + 1), "metadata",         NULL, ROW_NOTNULL)   \
	/* receiving | complete | failed */                                                        \
	COL(state,      ROW_STR(12),                "state",                  NULL, ROW_NOTNULL)   \
	/* the media row made of it, once complete; 0 before (or once that media was deleted) */   \
	COL(media_id,   ROW_INT,                    "media_id",               NULL, ROW_NULL(0))   \
	COL(expires,    ROW_INT,                    SQL_EPOCH("expires_at"),  NULL, ROW_NOTNULL)   \
	COL(expired,    ROW_BOOL,                   "expires_at <= now()",    NULL, ROW_NOTNULL)
/* clang-format on */

struct upload {
	ROW_STRUCT(UPLOAD_COLUMNS)
};

#define UPLOAD_SELECT ROW_SELECT(UPLOAD_COLUMNS)

/*
 * Creates the row of a new upload of u->length bytes for u->user_id (in project u->project_id when
 * > 0, which must be the user's: else MERR_NOT_FOUND), with u->filename, u->title, u->kind and
 * u->metadata, expiring expiry seconds from now. In one transaction under the user's row lock (the
 * lock media_insert_within takes): MERR_RATE_LIMITED when the user already has max_live uploads
 * receiving and unexpired, MERR_QUOTA_EXCEEDED when what the user stores plus the lengths of those
 * uploads plus this one passes quota bytes (<= 0: no quota). Fills the rest of u (id, offset 0,
 * state, expires) from the row; nothing is created on error.
 */
enum merr uploads_create(struct db *db, struct upload *u, int64_t expiry, int64_t quota, int64_t max_live)
        __attribute__((warn_unused_result));
/* The upload id of user_id into u; another user's (or a malformed id) is MERR_NOT_FOUND. */
enum merr uploads_get(struct db *db, int64_t user_id, const char *id, struct upload *u)
        __attribute__((warn_unused_result));
/*
 * Records offset as the bytes of upload id on the disk: only forward, only below the length (the
 * whole length is recorded by uploads_complete) and only while it is receiving. MERR_OK,
 * MERR_CONFLICT when the row is no longer receiving (completed, failed, gone), or the store's error.
 */
enum merr uploads_set_offset(struct db *db, int64_t user_id, const char *id, int64_t offset)
        __attribute__((warn_unused_result));
/*
 * Marks upload id complete with media_id and its offset at its length, in the caller's transaction
 * (the media row's): exactly one media row per upload, since a second call finds it no longer
 * receiving (MERR_CONFLICT).
 */
enum merr uploads_complete(struct db *db, const char *id, int64_t media_id)
        __attribute__((warn_unused_result));
/* Marks upload id failed (its file was refused). */
enum merr uploads_fail(struct db *db, int64_t user_id, const char *id) __attribute__((warn_unused_result));
/* Deletes upload id of user_id. MERR_NOT_FOUND when there is none. */
enum merr uploads_delete(struct db *db, int64_t user_id, const char *id) __attribute__((warn_unused_result));
/* Whether s is a canonical UUID (36 bytes, hex digits and dashes, as job_id_ok): an upload id may be one. */
bool upload_id_ok(const char *s);
/* "<root>/uploads/.tus-<id>.part" into out: the partial file, named from the row's id alone.
 * False when id is not one or out is too small. */
bool upload_part_path(const char *root, const char *id, char *out, size_t outlen);

#endif
