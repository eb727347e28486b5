/* response.h: status, headers and a body, and the single JSON error shape. */
#ifndef MEDIAD_RESPONSE_H
#define MEDIAD_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "util/buf.h"

struct json_object;
struct http_request;

struct http_response {
	int status;
	char content_type[128]; /* "" sends no Content-Type */
	struct buf headers;     /* "Name: value\r\n" lines, without Status, Content-Type, Content-Length */
	struct buf body;
	bool head_only;    /* HEAD request: send headers and Content-Length, no body */
	bool headers_sent; /* streaming mode: headers are out, only raw body writes follow */
	bool client_gone;
};

void http_response_init(struct http_response *resp, bool head_only);
void http_response_free(struct http_response *resp);
/* Adds a header line. Name and value must not hold CR or LF (enforced: such a header is dropped). */
void resp_header(struct http_response *resp, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Replaces the body with obj serialised; takes ownership of obj (NULL is an out-of-memory 500). */
void resp_json(struct http_response *resp, int status, struct json_object *obj);
/* Sets the status and leaves the body alone: 204 and 304, or a status before resp_begin. */
void resp_status(struct http_response *resp, int status);
/* Sets the Content-Type to type (cut at 127 bytes); "" sends none. */
void resp_content_type(struct http_response *resp, const char *type);
/*
 * Replaces the body with body's bytes as they are, and sets status; the content type stays.
 * Takes ownership of body's memory and leaves body empty (BUF_INIT), on every path. A body whose
 * appends failed (body->failed) is answered as an out-of-memory 500 instead.
 */
void resp_body(struct http_response *resp, int status, struct buf *body);
/* Sets the 404 error response "<what> <id> not found" (resp_error's shape). */
void resp_not_found(struct http_response *resp, const char *what, int64_t id);
/*
 * Sets the error response {"error": code, "message": ..., "field": field?}. field may be NULL.
 * Replaces the body and content type; headers already added (Allow, Retry-After) stay.
 */
void resp_error(struct http_response *resp, enum merr e, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Writes status, headers and body to the client. Returns 0, or -1 when the client is gone. */
int resp_send(struct http_request *req, struct http_response *resp);
/* Streaming: sends status and headers now (with the given Content-Length, or none when < 0). */
int resp_begin(struct http_request *req, struct http_response *resp, long long content_length);
/* Streaming: writes body bytes after resp_begin. Returns 0, or -1 when the client is gone. */
int resp_write(struct http_request *req, struct http_response *resp, const char *p, size_t n);

#endif
