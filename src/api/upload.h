/* upload.h: the streaming multipart upload shared by project assets and /media. */
#ifndef MEDIAD_UPLOAD_H
#define MEDIAD_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "http/request.h"
#include "http/response.h"

struct media;

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

#endif
