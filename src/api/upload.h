/* upload.h: the streaming multipart upload shared by project assets and /media. */
#ifndef MEDIAD_UPLOAD_H
#define MEDIAD_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "http/request.h"
#include "http/response.h"

#include "store/files.h"
#include "store/media.h"

struct config;

/* A title is valid UTF-8 of at most this many characters (multipart field, tus metadata). */
#define UPLOAD_TITLE_MAX_CHARS 255
#define UPLOAD_TITLE_RULE "title must be valid UTF-8, at most 255 characters"
#define UPLOAD_TYPE_RULE "type must be image, video or audio"

enum upload_kinds {
	UPLOAD_IMAGE = 1 << 0,
	UPLOAD_VIDEO = 1 << 1,
	UPLOAD_AUDIO = 1 << 2,
};

/*
 * Streams the multipart body of req to a temporary file under uploads/, probes it with ffprobe,
 * renames it to a server-made name and inserts its media row (owned by req->user_id, in
 * project_id when > 0). The file is read from field "asset" or "file"; optional fields "title"
 * and "type" are honoured. On success returns true with m filled. On any failure sets the error
 * response and returns false, leaving neither a file nor a row behind.
 */
bool upload_receive(struct http_request *req, struct http_response *resp, int64_t project_id, unsigned kinds,
                    struct media *m);

/* A complete file under a temporary name, and what the client said of it. */
struct upload_file {
	struct tmpfile *tmp;       /* fsync'd and closed; renamed into place by upload_store */
	uint64_t bytes;            /* its size */
	const char *original_name; /* sanitized (multipart_filename_sanitize); "" when none */
	const char *title;         /* checked with upload_title_ok; "" when none */
	const char *type;          /* "", or image, video or audio (upload_type_ok) */
	const char *file_field;    /* the field a refusal of the file names; NULL: none */
	bool link;             /* link it into place instead (tmpfile_link): f->tmp keeps its name, for the
	            * caller to remove once the row is committed (tus: a failure loses nothing) */
	const char *upload_id; /* the tus upload it completes, whose reserved length it is; NULL: none */
};

/*
 * What every upload does once its bytes are in (multipart and tus alike): probes f with ffprobe,
 * checks it is of kinds (and of f->type when given), renames (or, f->link, links) it to a
 * server-made name under uploads/ and inserts its media row (owned by req->user_id, in project_id
 * when > 0) under the storage quota with its auto renditions; then (NULL: none) runs in that
 * row's transaction. On success returns MERR_OK with m filled and the file under its new name
 * (renamed: f->tmp holds nothing; linked: f->tmp's name stays too). On failure sets the error
 * response and returns its error; the temporary file is left to the caller (it is still there
 * unless the rename happened), and no row and no new name stay behind, but for MERR_UNAVAILABLE
 * from the database, when the row may have been committed and its file stays (`mediactl gc`
 * removes it by its age if no row names it).
 */
enum merr upload_store(struct http_request *req, struct http_response *resp, const struct upload_file *f,
                       int64_t project_id, unsigned kinds, struct media *m, media_insert_hook then, void *arg)
        __attribute__((warn_unused_result));
/* The 413 quota_exceeded of an upload past storage_quota_bytes, naming the quota. */
void upload_quota_error(struct http_response *resp, const struct config *cfg);
/* Whether s[0..len) is a title an upload may have: UPLOAD_TITLE_RULE. */
bool upload_title_ok(const char *s, size_t len);
/* Whether s is an upload type: UPLOAD_TYPE_RULE. */
bool upload_type_ok(const char *s);

#endif
