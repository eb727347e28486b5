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
#define HTTP_MAX_BASE 512
#define ROUTE_MAX_PARAMS 4
#define ROUTE_MAX_PARAM_LEN 128

/*
 * The transport under a request: FastCGI in mediad, memory buffers in unit tests.
 * read returns bytes read, 0 at the end of the body, -1 on a transport error (client gone).
 * write returns 0, or -1 when the client is gone. param returns a CGI variable or NULL (the first,
 * when the web server sent the name twice). param_count, which may be NULL (then each name is
 * taken to come at most once), says how many times the web server sent a parameter.
 * read_within, which may be NULL, is read that returns fewer than n bytes rather than wait for
 * more, waits at most timeout_ms (> 0) for the first one and returns -2 when none came in time:
 * http_read uses it to bound every body read. Without it (memory buffers never wait) reads are
 * unbounded.
 */
struct http_io {
	void *ctx;
	ssize_t (*read)(void *ctx, char *buf, size_t n);
	int (*write)(void *ctx, const char *buf, size_t n);
	const char *(*param)(void *ctx, const char *name);
	size_t (*param_count)(void *ctx, const char *name);
	ssize_t (*read_within)(void *ctx, char *buf, size_t n, int timeout_ms);
};

struct route_params {
	size_t n;
	struct {
		char name[32];
		char value[ROUTE_MAX_PARAM_LEN];
	} p[ROUTE_MAX_PARAMS];
};

struct app;
struct config;

struct http_request {
	struct app *app;          /* the handlers' business: http/ never looks inside */
	const struct config *cfg; /* the body caps and deadlines http/ reads; see http_request_init */
	const struct http_io *io;
	const char *method;         /* REQUEST_METHOD */
	char path[HTTP_MAX_PATH];   /* percent-decoded path routed on: without the query string and
	                             * without base */
	char base[HTTP_MAX_BASE];   /* the prefix the API is served under ("/~user/api"), ready for a
	                             * URL (percent-encoded), no trailing '/'; "" at the root. Every
	                             * root-relative link and Location starts with it. See
	                             * http_request_init. */
	const char *query_string;   /* raw, "" when absent */
	struct query query;         /* parsed query_string */
	struct route_params params; /* :name values from the matched pattern */
	char request_id[17];
	int64_t user_id;    /* set by the auth middleware for routes that need a user */
	char token_jti[33]; /* the verified login token's id and expiry (for logout) */
	int64_t token_exp;
	bool body_consumed;
	uint64_t body_read;      /* bytes of body read so far */
	bool body_timed_out;     /* a read hit body_read_timeout_ms or body_min_rate_bps */
	long long body_start_ms; /* monotonic time of the first body read; 0 before it */
};

/* A CGI variable (e.g. "REMOTE_ADDR", "HTTP_AUTHORIZATION") or NULL. */
const char *http_param(const struct http_request *req, const char *name);
/* A request header by its HTTP name ("Content-Type"), or NULL. */
const char *http_header(const struct http_request *req, const char *name);
/* How many times the web server passed CGI variable name: 0 when absent. lighttpd passes
 * "X-Forwarded-For" and "X_Forwarded_For" as two HTTP_X_FORWARDED_FOR, for example. */
size_t http_param_count(const struct http_request *req, const char *name);
/* CONTENT_LENGTH as a number; -1 when absent, -2 when malformed. */
long long http_content_length(const struct http_request *req);
/* The value of a :name route parameter, or NULL. */
const char *http_route_param(const struct http_request *req, const char *name);
/* Parses a route parameter as a positive 64-bit id. Returns false when it is not one. */
bool http_route_id(const struct http_request *req, const char *name, int64_t *out);

/*
 * Reads up to n body bytes. Returns as io->read does, or -2 when the body is too slow: no byte came
 * within body_read_timeout_ms, or the body fell below body_min_rate_bps on average once its first
 * body_read_timeout_ms had passed (both counted from the first read). After -2 the rest of the body
 * is left unread and req->body_timed_out is set: answer 408 (MERR_REQUEST_TIMEOUT).
 */
ssize_t http_read(struct http_request *req, char *buf, size_t n);
/* The message of the 408 for a body that came too slowly, naming both limits, into out (n bytes). */
void http_body_too_slow(const struct http_request *req, char *out, size_t n);
/*
 * Reads the whole body into out, refusing more than cap bytes. Returns MERR_OK,
 * MERR_PAYLOAD_TOO_LARGE (Content-Length or the bytes read exceed cap), MERR_BAD_REQUEST
 * (malformed Content-Length, or the client went away), MERR_REQUEST_TIMEOUT (too slow, see
 * http_read), or MERR_INTERNAL (out of memory).
 */
enum merr http_read_body(struct http_request *req, size_t cap, struct buf *out);

/*
 * Sets up req over io: method, decoded path, base, query. app is kept for the handlers. cfg gives
 * the body deadlines, the JSON caps and base_path; it may be NULL only when no JSON body is read
 * (then body reads have no deadline, and there is no base_path). Returns MERR_OK or
 * MERR_BAD_REQUEST.
 *
 * The path comes from REQUEST_URI (SCRIPT_NAME when there is none) and the prefix it is served
 * under (req->base) is taken off it:
 *  - base_path set (cfg): that is the prefix; a path under it loses it, another path (a server
 *    that already took it off) is routed as it is;
 *  - else SCRIPT_NAME decides. When the path starts with SCRIPT_NAME, the web server mapped the
 *    URL onto mediad itself (lighttpd, Apache <Location>, mod_proxy_fcgi): no prefix. When it
 *    does not, the URL was rewritten (mod_rewrite in an .htaccess: "/~u/api/media/1" runs
 *    "/~u/api/mediad.fcgi"): the prefix is SCRIPT_NAME's folder, when the path is under it,
 *    the path has no empty, "." or ".." segment (the server may have resolved those before it
 *    chose the script) and the folder is a plain path as base_path must be (letters, digits,
 *    -._~!$&'()*+,;=:@, no empty, "." or ".." segment). Otherwise there is no prefix.
 * PATH_INFO is not read: it is the path less a prefix only in some of these set-ups.
 */
enum merr http_request_init(struct http_request *req, struct app *app, const struct config *cfg,
                            const struct http_io *io);
void http_request_free(struct http_request *req);

#endif
