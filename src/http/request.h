/* request.h: one HTTP request as handlers see it, independent of libfcgi. */
#ifndef MEDIAD_REQUEST_H
#define MEDIAD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "http/query.h"
#include "util/buf.h"

#define HTTP_MAX_PATH 2048
#define ROUTE_MAX_PARAMS 4
#define ROUTE_MAX_PARAM_LEN 128

/*
 * The transport under a request: FastCGI in mediad, memory buffers in unit tests.
 * read returns bytes read, 0 at the end of the body, -1 on a transport error (client gone).
 * write returns 0, or -1 when the client is gone. param returns a CGI variable or NULL.
 */
struct http_io {
	void *ctx;
	ssize_t (*read)(void *ctx, char *buf, size_t n);
	int (*write)(void *ctx, const char *buf, size_t n);
	const char *(*param)(void *ctx, const char *name);
};

struct route_params {
	size_t n;
	struct {
		char name[32];
		char value[ROUTE_MAX_PARAM_LEN];
	} p[ROUTE_MAX_PARAMS];
};

struct app;

struct http_request {
	struct app *app;
	const struct http_io *io;
	const char *method;         /* REQUEST_METHOD */
	char path[HTTP_MAX_PATH];   /* percent-decoded path, without the query string */
	const char *query_string;   /* raw, "" when absent */
	struct query query;         /* parsed query_string */
	struct route_params params; /* :name values from the matched pattern */
	char request_id[17];
	int64_t user_id;    /* set by the auth middleware for routes that need a user */
	char token_jti[33]; /* the verified login token's id and expiry (for logout) */
	int64_t token_exp;
	bool body_consumed;
	uint64_t body_read; /* bytes of body read so far */
};

/* A CGI variable (e.g. "REMOTE_ADDR", "HTTP_AUTHORIZATION") or NULL. */
const char *http_param(const struct http_request *req, const char *name);
/* A request header by its HTTP name ("Content-Type"), or NULL. */
const char *http_header(const struct http_request *req, const char *name);
/* CONTENT_LENGTH as a number; -1 when absent, -2 when malformed. */
long long http_content_length(const struct http_request *req);
/* The value of a :name route parameter, or NULL. */
const char *http_route_param(const struct http_request *req, const char *name);
/* Parses a route parameter as a positive 64-bit id. Returns false when it is not one. */
bool http_route_id(const struct http_request *req, const char *name, int64_t *out);

/* Reads up to n body bytes. Returns as io->read does. */
ssize_t http_read(struct http_request *req, char *buf, size_t n);
/*
 * Reads the whole body into out, refusing more than cap bytes. Returns MERR_OK,
 * MERR_PAYLOAD_TOO_LARGE (Content-Length or the bytes read exceed cap), MERR_BAD_REQUEST
 * (malformed Content-Length, or the client went away), or MERR_INTERNAL (out of memory).
 */
enum merr http_read_body(struct http_request *req, size_t cap, struct buf *out);

/* Sets up req over io: method, decoded path, query. Returns MERR_OK or MERR_BAD_REQUEST. */
enum merr http_request_init(struct http_request *req, struct app *app, const struct http_io *io);
void http_request_free(struct http_request *req);

#endif
