/* test_handlers.c: every route's refusals, in process: requests built in memory go through the real
 * dispatcher (api/dispatch.c) over the http_io seam, with no server. */
#include "config.h"

#include "api/dispatch.h"

#include <CUnit/CUnit.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/routes.h"
#include "app.h"
#include "auth/signlink.h"
#include "auth/token.h"
#include "core/config.h"
#include "store/db.h"
#include "store/kv.h"
#include "unit.h"
#include "util/buf.h"

/*
 * How it works. The app has every setting it needs, but its PostgreSQL and Redis are sockets that
 * do not exist: a store call answers MERR_UNAVAILABLE at once, so a request that gets past its
 * handler's validation is a 503 "unavailable". That makes the 503 the control case of each route
 * (the input it sends is good), and every 4xx case one change away from it.
 *
 * A route with ROUTE_AUTH first checks the token's signature (auth/token.c, for real: the tokens
 * here are made with the app's secret) and then asks the store whether it was revoked. That one
 * store call is replaced at link time (Makefile.am: -Wl,--wrap=revocations_check) by
 * __wrap_revocations_check below, which answers "not revoked" for TOKEN, "revoked" for
 * REVOKED_TOKEN and "cannot say" for UNCHECKABLE_TOKEN: the handler's own validation then runs.
 *
 * What a 4xx case checks: the status; our JSON error shape (an object with "error", the code,
 * a non-empty "message", "field" exactly when the case names one, nothing else); WWW-Authenticate
 * on a 401, Allow on a 405; X-Request-Id and a Content-Length that matches on every answer.
 *
 * Adding a route (docs/ARCHITECTURE.md, "Adding a route"): add its rows to `cases` below, in the
 * route's order in src/api/routes.c.
 *   - One control row: the smallest good request, answering 503 "unavailable" (or what the route
 *     answers without a database).
 *   - One row per refusal that comes before the store: bad :id, each bad query parameter,
 *     malformed JSON, a missing field, each wrong type, out-of-range values, unknown keys, an
 *     oversize body, a wrong Content-Type. Name the field the answer must carry.
 *   - Nothing to do for 401: every ROUTE_AUTH route is sent without a token, and with a forged, an
 *     expired and a revoked one, by test_auth_routes_refuse_bad_tokens.
 * A route with no row fails test_every_route_has_a_case. What needs the database (another
 * user's project is 404, a duplicate is 409) belongs in tests/integration.
 */

/* The app's stores: paths that do not exist, so connecting fails at once. */
#define NO_DB "host=/nonexistent/mediad-unit-test dbname=mediad connect_timeout=1"
#define NO_REDIS "unix:/nonexistent/mediad-unit-test/redis.sock"
#define SECRET "unit-test-secret-unit-test-secret-0123456789"
#define USER_ID 7
#define JSON_CAP 4096      /* max_json_bytes */
#define UPLOAD_CAP 1048576 /* upload_max_bytes */
#define LINK_MEDIA_ID 5    /* the media id of the {link} and {old-link} placeholders */
#define MAX_HEADERS 4

enum auth {
	NO_TOKEN = 0,
	TOKEN,             /* a valid login token of USER_ID, not revoked */
	REVOKED_TOKEN,     /* valid, but revoked (logged out) */
	UNCHECKABLE_TOKEN, /* valid, but whether it was revoked cannot be known */
	EXPIRED_TOKEN,     /* signed with the app's secret, expired an hour ago */
	FORGED_TOKEN,      /* signed with another secret */
};

/*
 * One request and what it must answer. target is the path and query as a client sends them;
 * "{link}" in it becomes "expires=...&sig=..." of a valid stream link of media LINK_MEDIA_ID,
 * "{old-link}" one that expired.
 */
struct hcase {
	const char *method;
	const char *target;
	enum auth auth;
	const char *body;                 /* NULL: none */
	const char *ctype;                /* NULL: application/json when there is a body */
	size_t pad;                       /* > 0: body is {"title":"aaa..."} of pad bytes */
	const char *clen;                 /* Content-Length as sent; NULL: the body's; "-": none */
	bool slow;                        /* the body never comes: every read times out */
	const char *headers[MAX_HEADERS]; /* more "Name: value" request headers */
	int status;
	const char *code;  /* the "error" of the answer; NULL for a success */
	const char *field; /* its "field"; NULL: it must have none */
	const char *msg;   /* a part of its "message", or NULL */
	bool loose;        /* the answer may hold more keys than our error shape (GET /healthz) */
};

/* Multipart bodies for the upload routes. */
#define MP "multipart/form-data; boundary=XyZ"
#define MP_FILE(name)                                                                        \
	"--XyZ\r\nContent-Disposition: form-data; name=\"" name "\"; filename=\"a.png\"\r\n" \
	"Content-Type: image/png\r\n\r\nnot really an image\r\n"
#define MP_FIELD(name, value) \
	"--XyZ\r\nContent-Disposition: form-data; name=\"" name "\"\r\n\r\n" value "\r\n"
#define MP_END "--XyZ--\r\n"

#define UUID "0b0e3e0a-1a23-4e98-b3d5-04c97e2c1f10"

/* clang-format off */
static const struct hcase cases[] = {
	/* the dispatcher, before any route */
	{ "GET", "/nowhere", .status = 404, .code = "not_found" },
	{ "PUT", "/projects", TOKEN, .status = 405, .code = "method_not_allowed" },
	{ "GET", "/projects/%zz", TOKEN, .status = 400, .code = "bad_request" },
	{ "GET", "/media/1%2F2", TOKEN, .status = 400, .code = "bad_request" },
	{ "GET", "/projects?limit=%zz", TOKEN, .status = 400, .code = "bad_request" },

	/* GET /healthz: neither store answers */
	{ "GET", "/healthz", .status = 503, .code = "unavailable", .loose = true },

	/* POST /auth/register, /auth/signup */
	{ "POST", "/auth/register", .body = "{\"email\":\"a@example.com\",\"password\":\"Password123\"}",
	  .status = 503, .code = "unavailable" },
	{ "POST", "/auth/register", .status = 400, .code = "bad_request", .msg = "required" },
	{ "POST", "/auth/register", .body = "{\"email\":", .status = 400, .code = "bad_request" },
	{ "POST", "/auth/register", .body = "[\"a@example.com\"]", .status = 400, .code = "bad_request" },
	{ "POST", "/auth/register", .body = "{\"email\":\"a@example.com\",\"password\":\"Password123\"} x",
	  .status = 400, .code = "bad_request" },
	{ "POST", "/auth/register", .body = "email=a@example.com&password=Password123",
	  .ctype = "application/x-www-form-urlencoded", .status = 415, .code = "unsupported_media_type" },
	{ "POST", "/auth/register", .body = "{\"password\":\"Password123\"}", .status = 400,
	  .code = "bad_request", .field = "email" },
	{ "POST", "/auth/register", .body = "{\"email\":\"a@example.com\"}", .status = 400,
	  .code = "bad_request", .field = "password" },
	{ "POST", "/auth/register", .body = "{\"email\":7,\"password\":\"Password123\"}", .status = 400,
	  .code = "bad_request", .field = "email" },
	{ "POST", "/auth/register", .body = "{\"email\":\"a@example.com\",\"password\":12345678}",
	  .status = 400, .code = "bad_request", .field = "password" },
	{ "POST", "/auth/register", .body = "{\"email\":\"not an address\",\"password\":\"Password123\"}",
	  .status = 400, .code = "bad_request", .field = "email" },
	{ "POST", "/auth/register", .body = "{\"email\":\"a@example.com\",\"password\":\"short\"}",
	  .status = 400, .code = "bad_request", .field = "password" },
	{ "POST", "/auth/register", .pad = JSON_CAP + 1, .status = 413, .code = "payload_too_large" },
	{ "POST", "/auth/register", .pad = JSON_CAP + 1, .clen = "-", .status = 413,
	  .code = "payload_too_large" },
	{ "POST", "/auth/register", .clen = "1000000000", .status = 413, .code = "payload_too_large" },
	{ "POST", "/auth/register", .body = "{}", .clen = "2x", .status = 400, .code = "bad_request" },
	{ "POST", "/auth/register", .body = "{}", .clen = "10", .status = 400, .code = "bad_request" },
	{ "POST", "/auth/register", .body = "{}", .slow = true, .status = 408, .code = "request_timeout" },
	{ "POST", "/auth/signup", .body = "{\"email\":\"a@example\",\"password\":\"Password123\"}",
	  .status = 400, .code = "bad_request", .field = "email" },

	/* POST /auth/login */
	{ "POST", "/auth/login", .body = "{\"email\":\"a@example.com\",\"password\":\"Password123\"}",
	  .status = 503, .code = "unavailable" },
	{ "POST", "/auth/login", .body = "{\"email\":\"a@example.com\"", .status = 400, .code = "bad_request" },
	{ "POST", "/auth/login", .body = "{\"email\":\"a@example.com\"}", .status = 400,
	  .code = "bad_request", .field = "password" },
	{ "POST", "/auth/login", .body = "{\"email\":\"\",\"password\":\"Password123\"}", .status = 400,
	  .code = "bad_request", .field = "email" },
	{ "POST", "/auth/login", .body = "{\"email\":\"a@@example.com\",\"password\":\"x\"}", .status = 400,
	  .code = "bad_request", .field = "email" },
	{ "POST", "/auth/login", .body = "{\"email\":null,\"password\":\"x\"}", .status = 400,
	  .code = "bad_request", .field = "email" },

	/* /auth/logout, /auth/me: only the token can be wrong (see test_auth_routes_refuse_bad_tokens) */
	{ "POST", "/auth/logout", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/auth/logout", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/auth/me", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/auth/me", .headers = { "Authorization: Basic dXNlcjpQYXNzd29yZDEyMw==" }, .status = 401,
	  .code = "unauthorized" },

	/* POST /projects */
	{ "POST", "/projects", TOKEN, .body = "{\"title\":\"t\",\"description\":null}", .status = 503,
	  .code = "unavailable" },
	{ "POST", "/projects", TOKEN, .body = "{\"title\":", .status = 400, .code = "bad_request" },
	{ "POST", "/projects", TOKEN, .body = "{}", .status = 400, .code = "bad_request", .field = "title" },
	{ "POST", "/projects", TOKEN, .body = "{\"title\":\"\"}", .status = 400, .code = "bad_request",
	  .field = "title" },
	{ "POST", "/projects", TOKEN, .body = "{\"title\":5}", .status = 400, .code = "bad_request",
	  .field = "title" },
	{ "POST", "/projects", TOKEN, .body = "{\"title\":[\"t\"]}", .status = 400, .code = "bad_request",
	  .field = "title" },
	{ "POST", "/projects", TOKEN, .body = "{\"title\":\"t\",\"description\":false}", .status = 400,
	  .code = "bad_request", .field = "description" },
	{ "POST", "/projects", TOKEN, .body = "{\"title\":\"\xc3\x28\"}", .status = 400, .code = "bad_request",
	  .msg = "utf-8" },
	{ "POST", "/projects", TOKEN, .pad = 300, .status = 400, .code = "bad_request", .field = "title" },
	{ "POST", "/projects", TOKEN, .pad = JSON_CAP + 1, .status = 413, .code = "payload_too_large" },
	{ "POST", "/projects", TOKEN, .body = "{\"title\":\"t\"}", .ctype = "text/plain", .status = 415,
	  .code = "unsupported_media_type" },
	{ "POST", "/projects", TOKEN, .body = "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":"
	  "{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":{\"o\":{\"p\":{\"q\":1}}}}}}}}}}}}}}}}}}", .status = 400,
	  .code = "bad_request" },
	{ "POST", "/projects", TOKEN, .body = "{\"title\":\"t\"}", .slow = true, .status = 408,
	  .code = "request_timeout" },

	/* GET /projects */
	{ "GET", "/projects?limit=200&offset=0", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/projects?limit=0", TOKEN, .status = 400, .code = "bad_request", .field = "limit" },
	{ "GET", "/projects?limit=201", TOKEN, .status = 400, .code = "bad_request", .field = "limit" },
	{ "GET", "/projects?limit=ten", TOKEN, .status = 400, .code = "bad_request", .field = "limit" },
	{ "GET", "/projects?limit=-1", TOKEN, .status = 400, .code = "bad_request", .field = "limit" },
	{ "GET", "/projects?offset=-1", TOKEN, .status = 400, .code = "bad_request", .field = "offset" },
	{ "GET", "/projects?offset=1e3", TOKEN, .status = 400, .code = "bad_request", .field = "offset" },

	/* GET /projects/:id: an id that is not a positive integer is simply not found */
	{ "GET", "/projects/1", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/projects/abc", TOKEN, .status = 404, .code = "not_found", .msg = "project" },
	{ "GET", "/projects/0", TOKEN, .status = 404, .code = "not_found" },
	{ "GET", "/projects/-1", TOKEN, .status = 404, .code = "not_found" },
	{ "GET", "/projects/01", TOKEN, .status = 404, .code = "not_found" },
	{ "GET", "/projects/1.5", TOKEN, .status = 404, .code = "not_found" },
	{ "GET", "/projects/9999999999999999999", TOKEN, .status = 404, .code = "not_found" },

	/* PATCH /projects/:id */
	{ "PATCH", "/projects/1", TOKEN, .body = "{\"title\":\"t\"}", .status = 503, .code = "unavailable" },
	{ "PATCH", "/projects/1", TOKEN, .body = "{\"description\":null}", .status = 503,
	  .code = "unavailable" },
	{ "PATCH", "/projects/x", TOKEN, .body = "{\"title\":\"t\"}", .status = 404, .code = "not_found" },
	{ "PATCH", "/projects/1", TOKEN, .body = "{}", .status = 400, .code = "bad_request",
	  .msg = "nothing to change" },
	{ "PATCH", "/projects/1", TOKEN, .body = "{\"title\":\"t\",\"owner\":2}", .status = 400,
	  .code = "bad_request", .field = "owner" },
	{ "PATCH", "/projects/1", TOKEN, .body = "{\"title\":null}", .status = 400, .code = "bad_request",
	  .field = "title" },
	{ "PATCH", "/projects/1", TOKEN, .body = "{\"title\":\"\"}", .status = 400, .code = "bad_request",
	  .field = "title" },
	{ "PATCH", "/projects/1", TOKEN, .body = "{\"description\":3}", .status = 400, .code = "bad_request",
	  .field = "description" },
	{ "PATCH", "/projects/1", TOKEN, .body = "{\"title\":\"t\"", .status = 400, .code = "bad_request" },
	{ "PATCH", "/projects/1", TOKEN, .status = 400, .code = "bad_request", .msg = "required" },

	/* DELETE /projects/:id */
	{ "DELETE", "/projects/1", TOKEN, .status = 503, .code = "unavailable" },
	{ "DELETE", "/projects/one", TOKEN, .status = 404, .code = "not_found" },

	/* POST, GET /projects/:id/assets: the project is looked up before anything else */
	{ "POST", "/projects/1/assets", TOKEN, .body = MP_FILE("asset") MP_END, .ctype = MP, .status = 503,
	  .code = "unavailable" },
	{ "POST", "/projects/0/assets", TOKEN, .body = MP_FILE("asset") MP_END, .ctype = MP, .status = 404,
	  .code = "not_found" },
	{ "GET", "/projects/1/assets", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/projects/a/assets", TOKEN, .status = 404, .code = "not_found" },

	/* POST /media: the upload is read, and refused, before the store */
	{ "POST", "/media", TOKEN, .body = "{}", .status = 415, .code = "unsupported_media_type" },
	{ "POST", "/media", TOKEN, .body = MP_FILE("asset") MP_END, .ctype = "multipart/form-data",
	  .status = 415, .code = "unsupported_media_type" },
	{ "POST", "/media", TOKEN, .ctype = MP, .clen = "1048577", .status = 413, .code = "payload_too_large" },
	{ "POST", "/media", TOKEN, .body = MP_FIELD("title", "t") MP_END, .ctype = MP, .status = 400,
	  .code = "bad_request", .field = "asset" },
	{ "POST", "/media", TOKEN, .body = MP_FILE("asset") MP_FIELD("type", "text") MP_END, .ctype = MP,
	  .status = 400, .code = "bad_request", .field = "type" },
	{ "POST", "/media", TOKEN, .body = MP_FILE("asset") MP_FILE("file") MP_END, .ctype = MP, .status = 400,
	  .code = "bad_request", .field = "file" },
	{ "POST", "/media", TOKEN, .body = MP_FIELD("title", "\xff") MP_FILE("asset") MP_END, .ctype = MP,
	  .status = 400, .code = "bad_request", .field = "title" },
	{ "POST", "/media", TOKEN, .body = MP_FILE("asset"), .ctype = MP, .status = 400, .code = "bad_request",
	  .msg = "multipart" },
	{ "POST", "/media", TOKEN, .body = "not multipart at all", .ctype = MP, .status = 400,
	  .code = "bad_request" },
	{ "POST", "/media", TOKEN, .body = MP_FILE("asset") MP_END, .ctype = MP, .slow = true, .status = 408,
	  .code = "request_timeout" },

	/* GET /media, GET and DELETE /media/:id */
	{ "GET", "/media?offset=10", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/media?limit=", TOKEN, .status = 400, .code = "bad_request", .field = "limit" },
	{ "GET", "/media/1", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/media/1x", TOKEN, .status = 404, .code = "not_found", .msg = "media" },
	{ "DELETE", "/media/1", TOKEN, .status = 503, .code = "unavailable" },
	{ "DELETE", "/media/+1", TOKEN, .status = 404, .code = "not_found" },

	/* GET /media/:id/stream-url */
	{ "GET", "/media/1/stream-url", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/media/0/stream-url", TOKEN, .status = 404, .code = "not_found" },

	/* GET, HEAD /media/:id/stream: the link is checked before the database */
	{ "GET", "/media/5/stream?{link}", .status = 503, .code = "unavailable" },
	{ "GET", "/media/5/stream", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/stream?expires=99999999999", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/stream?expires=99999999999&sig=AAAA", .status = 403, .code = "forbidden" },
	{ "GET", "/media/6/stream?{link}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/stream?{old-link}", .status = 410, .code = "gone" },
	{ "GET", "/media/x/stream?{link}", .status = 404, .code = "not_found" },
	{ "HEAD", "/media/5/stream", .status = 403 },
	{ "HEAD", "/media/5/stream?{link}", .status = 503 },

	/* GET, HEAD /media/:id/hls/master.m3u8: the stream link, checked before the database */
	{ "GET", "/media/5/hls/master.m3u8?{link}", .status = 503, .code = "unavailable" },
	{ "GET", "/media/5/hls/master.m3u8", .status = 403, .code = "forbidden" },
	{ "GET", "/media/6/hls/master.m3u8?{link}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/hls/master.m3u8?{plink:master.m3u8}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/hls/master.m3u8?{old-link}", .status = 410, .code = "gone" },
	{ "HEAD", "/media/5/hls/master.m3u8?{link}", .status = 503 },
	{ "HEAD", "/media/5/hls/master.m3u8", .status = 403 },

	/* GET, HEAD /media/:id/hls/:variant/index.m3u8: the variant playlist's own signature */
	{ "GET", "/media/5/hls/240p/index.m3u8?{plink:240p/index.m3u8}", .status = 503, .code = "unavailable" },
	{ "GET", "/media/5/hls/240p/index.m3u8?{plink:360p/index.m3u8}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/hls/240p/index.m3u8?{link}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/hls/240p/index.m3u8", .status = 403, .code = "forbidden" },
	{ "GET", "/media/6/hls/240p/index.m3u8?{plink:240p/index.m3u8}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/hls/240p/index.m3u8?{old-plink:240p/index.m3u8}", .status = 410, .code = "gone" },
	{ "GET", "/media/5/hls/..%2E/index.m3u8", .status = 404, .code = "not_found" },
	{ "GET", "/media/5/hls/240P/index.m3u8?{plink:240P/index.m3u8}", .status = 404, .code = "not_found" },
	{ "GET", "/media/5/hls/abcdefghijklmnopq/index.m3u8", .status = 404, .code = "not_found" },
	{ "HEAD", "/media/5/hls/240p/index.m3u8?{plink:240p/index.m3u8}", .status = 503 },
	{ "HEAD", "/media/5/hls/240p/index.m3u8", .status = 403 },

	/* GET, HEAD /media/:id/hls/:variant/:file: the segment's own signature, a strict file name */
	{ "GET", "/media/5/hls/240p/seg_00003.m4s?{plink:240p/seg_00003.m4s}", .status = 503, .code = "unavailable" },
	{ "GET", "/media/5/hls/240p/init_0.mp4?{plink:240p/init_0.mp4}", .status = 503, .code = "unavailable" },
	{ "GET", "/media/5/hls/240p/seg_00003.m4s?{plink:240p/seg_00004.m4s}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/hls/240p/seg_00003.m4s?{plink:360p/seg_00003.m4s}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/hls/240p/seg_00003.m4s?{link}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/6/hls/240p/seg_00003.m4s?{plink:240p/seg_00003.m4s}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/hls/240p/seg_00003.m4s?{old-plink:240p/seg_00003.m4s}", .status = 410, .code = "gone" },
	{ "GET", "/media/5/hls/240p/seg_0003.m4s?{plink:240p/seg_0003.m4s}", .status = 404, .code = "not_found" },
	{ "GET", "/media/5/hls/240p/index.mp4?{plink:240p/index.mp4}", .status = 404, .code = "not_found" },
	{ "GET", "/media/5/hls/240p/init_000.mp4?{plink:240p/init_000.mp4}", .status = 404, .code = "not_found" },
	{ "GET", "/media/5/hls/240p/master.m3u8?{plink:240p/master.m3u8}", .status = 404, .code = "not_found" },
	{ "GET", "/media/5/hls/240p/.seg_00003.m4s", .status = 404, .code = "not_found" },
	{ "GET", "/media/5/hls/240p/seg_00003.m4s.tmp", .status = 404, .code = "not_found" },
	{ "GET", "/media/5/hls/x/seg_00003.m4s/", .status = 404, .code = "not_found" },
	{ "HEAD", "/media/5/hls/240p/seg_00003.m4s?{plink:240p/seg_00003.m4s}", .status = 503 },
	{ "HEAD", "/media/5/hls/240p/seg_00003.m4s", .status = 403 },

	/* GET, HEAD /media/:id/poster.jpg and /media/:id/storyboard.vtt: the stream link */
	{ "GET", "/media/5/poster.jpg?{link}", .status = 503, .code = "unavailable" },
	{ "GET", "/media/5/poster.jpg?{plink:poster.jpg}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/6/poster.jpg?{link}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/poster.jpg?{old-link}", .status = 410, .code = "gone" },
	{ "HEAD", "/media/5/poster.jpg?{link}", .status = 503 },
	{ "HEAD", "/media/5/poster.jpg", .status = 403 },
	{ "GET", "/media/5/storyboard.vtt?{link}", .status = 503, .code = "unavailable" },
	{ "GET", "/media/5/storyboard.vtt", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/storyboard.vtt?{old-link}", .status = 410, .code = "gone" },
	{ "HEAD", "/media/5/storyboard.vtt?{link}", .status = 503 },
	{ "HEAD", "/media/5/storyboard.vtt", .status = 403 },

	/* GET, HEAD /media/:id/storyboard.jpg: the sprite's own signature */
	{ "GET", "/media/5/storyboard.jpg?{plink:storyboard.jpg}", .status = 503, .code = "unavailable" },
	{ "GET", "/media/5/storyboard.jpg?{link}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/storyboard.jpg?{plink:poster.jpg}", .status = 403, .code = "forbidden" },
	{ "GET", "/media/5/storyboard.jpg?{old-plink:storyboard.jpg}", .status = 410, .code = "gone" },
	{ "HEAD", "/media/5/storyboard.jpg?{plink:storyboard.jpg}", .status = 503 },
	{ "HEAD", "/media/5/storyboard.jpg", .status = 403 },

	/* POST /media/:id/view: the owner's token or the media's stream link */
	{ "POST", "/media/1/view", TOKEN, .status = 503, .code = "unavailable" },
	{ "POST", "/media/5/view?{link}", .status = 503, .code = "unavailable" },
	{ "POST", "/media/1/view", .status = 401, .code = "unauthorized" },
	{ "POST", "/media/1/view", FORGED_TOKEN, .status = 401, .code = "unauthorized" },
	{ "POST", "/media/1/view", REVOKED_TOKEN, .status = 401, .code = "unauthorized" },
	{ "POST", "/media/5/view?sig=AAAA", .status = 403, .code = "forbidden" },
	{ "POST", "/media/5/view?{old-link}", .status = 410, .code = "gone" },
	{ "POST", "/media/x/view", TOKEN, .status = 404, .code = "not_found" },

	/* GET /media/:id/analytics */
	{ "GET", "/media/1/analytics?from=2026-01-01&to=2026-01-31", TOKEN, .status = 503,
	  .code = "unavailable" },
	{ "GET", "/media/z/analytics", TOKEN, .status = 404, .code = "not_found" },
	{ "GET", "/media/1/analytics?from=2026-02-30", TOKEN, .status = 400, .code = "bad_request",
	  .field = "from" },
	{ "GET", "/media/1/analytics?from=2026-1-01", TOKEN, .status = 400, .code = "bad_request",
	  .field = "from" },
	{ "GET", "/media/1/analytics?to=yesterday", TOKEN, .status = 400, .code = "bad_request",
	  .field = "to" },
	{ "GET", "/media/1/analytics?from=2026-02-02&to=2026-02-01", TOKEN, .status = 400,
	  .code = "bad_request", .field = "from" },

	/* POST /analytics */
	{ "POST", "/analytics", TOKEN, .body = "{\"projectId\":1,\"eventType\":\"play\"}", .status = 503,
	  .code = "unavailable" },
	{ "POST", "/analytics", TOKEN, .body = "{\"eventType\":\"play\"}", .status = 400, .code = "bad_request",
	  .field = "projectId" },
	{ "POST", "/analytics", TOKEN, .body = "{\"projectId\":\"1\",\"eventType\":\"play\"}", .status = 400,
	  .code = "bad_request", .field = "projectId" },
	{ "POST", "/analytics", TOKEN, .body = "{\"projectId\":0,\"eventType\":\"play\"}", .status = 400,
	  .code = "bad_request", .field = "projectId" },
	{ "POST", "/analytics", TOKEN, .body = "{\"projectId\":1.5,\"eventType\":\"play\"}", .status = 400,
	  .code = "bad_request", .field = "projectId" },
	{ "POST", "/analytics", TOKEN, .body = "{\"projectId\":1}", .status = 400, .code = "bad_request",
	  .field = "eventType" },
	{ "POST", "/analytics", TOKEN, .body = "{\"projectId\":1,\"eventType\":\"stop\"}", .status = 400,
	  .code = "bad_request", .field = "eventType" },
	{ "POST", "/analytics", TOKEN, .body = "{\"projectId\":1,\"eventType\":true}", .status = 400,
	  .code = "bad_request", .field = "eventType" },

	/* GET /projects/:id/analytics */
	{ "GET", "/projects/1/analytics", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/projects/-5/analytics", TOKEN, .status = 404, .code = "not_found" },

	/* POST /projects/:id/render: the project is looked up before the body is read */
	{ "POST", "/projects/1/render", TOKEN, .body = "{\"preset\":\"mp4\"}", .status = 503,
	  .code = "unavailable" },
	{ "POST", "/projects/p/render", TOKEN, .body = "{\"preset\":\"mp4\"}", .status = 404,
	  .code = "not_found" },

	/* POST /media/:id/renditions: the media is looked up before the body is read */
	{ "POST", "/media/1/renditions", TOKEN, .body = "{\"preset\":\"hls\"}", .status = 503,
	  .code = "unavailable" },
	{ "POST", "/media/m/renditions", TOKEN, .body = "{\"preset\":\"hls\"}", .status = 404,
	  .code = "not_found" },

	/* GET /projects/:id/jobs */
	{ "GET", "/projects/1/jobs?limit=5", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/projects/1e2/jobs", TOKEN, .status = 404, .code = "not_found" },
	{ "GET", "/projects/1/jobs?limit=999", TOKEN, .status = 400, .code = "bad_request", .field = "limit" },

	/* GET, DELETE /jobs/:id: an id that is not a UUID is simply not found */
	{ "GET", "/jobs/" UUID, TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/jobs/42", TOKEN, .status = 404, .code = "not_found", .msg = "job" },
	{ "GET", "/jobs/0b0e3e0a-1a23-4e98-b3d5-04c97e2c1f1g", TOKEN, .status = 404, .code = "not_found" },
	{ "GET", "/jobs/0b0e3e0a1a234e98b3d504c97e2c1f10", TOKEN, .status = 404, .code = "not_found" },
	{ "DELETE", "/jobs/" UUID, TOKEN, .status = 503, .code = "unavailable" },
	{ "DELETE", "/jobs/" UUID "0", TOKEN, .status = 404, .code = "not_found" },

	/* POST /uploads: tus creation, every refusal before the store; HEAD, PATCH, DELETE /uploads/:id */
#define TUS "Tus-Resumable: 1.0.0"
#define TUS_BYTES "Content-Type: application/offset+octet-stream"
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: 10" }, .status = 503, .code = "unavailable" },
	{ "POST", "/uploads", TOKEN, .headers = { "Upload-Length: 10" }, .status = 412,
	  .code = "precondition_failed", .field = "Tus-Resumable" },
	{ "POST", "/uploads", TOKEN, .headers = { "Tus-Resumable: 0.2.2", "Upload-Length: 10" }, .status = 412,
	  .code = "precondition_failed", .field = "Tus-Resumable" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS }, .status = 400, .code = "bad_request", .field = "Upload-Length" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: 0" }, .status = 400, .code = "bad_request",
	  .field = "Upload-Length" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: +10" }, .status = 400, .code = "bad_request",
	  .field = "Upload-Length" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: 99999999999999999999" }, .status = 400,
	  .code = "bad_request", .field = "Upload-Length" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Defer-Length: 1" }, .status = 400,
	  .code = "bad_request", .field = "Upload-Defer-Length" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: 1048577" }, .status = 413,
	  .code = "payload_too_large", .field = "Upload-Length" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: 10", "Upload-Metadata: title !!" },
	  .status = 400, .code = "bad_request", .field = "Upload-Metadata" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: 10", "Upload-Metadata: title YQ==,title YQ==" },
	  .status = 400, .code = "bad_request", .field = "Upload-Metadata", .msg = "twice" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: 10", "Upload-Metadata: type dGV4dA==" },
	  .status = 400, .code = "bad_request", .field = "type" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: 10", "Upload-Metadata: projectId LTE=" },
	  .status = 400, .code = "bad_request", .field = "projectId" },
	{ "POST", "/uploads", TOKEN, .headers = { TUS, "Upload-Length: 10", "Upload-Metadata: title /w==" },
	  .status = 400, .code = "bad_request", .field = "title" },
	{ "HEAD", "/uploads/" UUID, TOKEN, .headers = { TUS }, .status = 503 },
	{ "HEAD", "/uploads/" UUID, TOKEN, .status = 412 },
	{ "HEAD", "/uploads/42", TOKEN, .headers = { TUS }, .status = 404 },
	{ "PATCH", "/uploads/" UUID, TOKEN, .body = "abc", .ctype = "application/offset+octet-stream",
	  .headers = { TUS, "Upload-Offset: 0" }, .status = 503, .code = "unavailable" },
	{ "PATCH", "/uploads/" UUID, TOKEN, .body = "abc", .ctype = "application/offset+octet-stream",
	  .headers = { "Upload-Offset: 0" }, .status = 412, .code = "precondition_failed", .field = "Tus-Resumable" },
	{ "PATCH", "/uploads/" UUID, TOKEN, .body = "abc", .ctype = "application/octet-stream",
	  .headers = { TUS, "Upload-Offset: 0" }, .status = 415, .code = "unsupported_media_type",
	  .field = "Content-Type" },
	{ "PATCH", "/uploads/" UUID, TOKEN, .body = "abc", .ctype = "application/offset+octet-stream",
	  .headers = { TUS, "Upload-Offset: -1" }, .status = 400, .code = "bad_request", .field = "Upload-Offset" },
	{ "PATCH", "/uploads/" UUID, TOKEN, .body = "abc", .ctype = "application/offset+octet-stream",
	  .headers = { TUS, "Upload-Offset: 0", "Upload-Checksum: md5 AAAAAAAAAAAAAAAAAAAAAA==" }, .status = 400,
	  .code = "bad_request", .field = "Upload-Checksum", .msg = "not supported" },
	{ "PATCH", "/uploads/" UUID, TOKEN, .body = "abc", .ctype = "application/offset+octet-stream",
	  .headers = { TUS, "Upload-Offset: 0", "Upload-Checksum: sha1 AAAA" }, .status = 400, .code = "bad_request",
	  .field = "Upload-Checksum" },
	{ "PATCH", "/uploads/x", TOKEN, .body = "abc", .ctype = "application/offset+octet-stream",
	  .headers = { TUS, "Upload-Offset: 0" }, .status = 404, .code = "not_found" },
	{ "DELETE", "/uploads/" UUID, TOKEN, .headers = { TUS }, .status = 503, .code = "unavailable" },
	{ "DELETE", "/uploads/" UUID, TOKEN, .status = 412, .code = "precondition_failed", .field = "Tus-Resumable" },
	{ "DELETE", "/uploads/" UUID "0", TOKEN, .headers = { TUS }, .status = 404, .code = "not_found" },

	/* POST /webhooks: events, then the url (libcurl's parser); a literal private address is 422
	 * (webhook_allow_private is off here) */
#define WH(url, events) "{\"url\":\"" url "\",\"events\":" events "}"
#define WH_OK(url) WH(url, "[\"job.completed\"]")
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("https://example.com/hook"), .status = 503,
	  .code = "unavailable" },
	{ "POST", "/webhooks", TOKEN, .status = 400, .code = "bad_request" },
	{ "POST", "/webhooks", TOKEN, .body = "{\"url\":\"https://example.com/\"}", .status = 400,
	  .code = "bad_request", .field = "events" },
	{ "POST", "/webhooks", TOKEN, .body = "{\"events\":[\"job.failed\"]}", .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH("https://example.com/", "\"job.failed\""), .status = 400,
	  .code = "bad_request", .field = "events" },
	{ "POST", "/webhooks", TOKEN, .body = WH("https://example.com/", "[]"), .status = 400,
	  .code = "bad_request", .field = "events" },
	{ "POST", "/webhooks", TOKEN, .body = WH("https://example.com/", "[\"job.done\"]"), .status = 400,
	  .code = "bad_request", .field = "events", .msg = "unknown event" },
	{ "POST", "/webhooks", TOKEN, .body = WH("https://example.com/", "[\"job.failed\",\"job.failed\"]"),
	  .status = 400, .code = "bad_request", .field = "events", .msg = "twice" },
	{ "POST", "/webhooks", TOKEN, .body = WH("https://example.com/", "[7]"), .status = 400,
	  .code = "bad_request", .field = "events" },
	{ "POST", "/webhooks", TOKEN, .body = WH("https://example.com/", "[\"JOB.FAILED\"]"), .status = 400,
	  .code = "bad_request", .field = "events" },
	{ "POST", "/webhooks", TOKEN, .body = "{\"url\":\"https://example.com/\",\"events\":[\"job.failed\"],"
	  "\"secret\":\"mine\"}", .status = 400, .code = "bad_request", .field = "secret" },
	{ "POST", "/webhooks", TOKEN, .body = "{\"url\":7,\"events\":[\"job.failed\"]}", .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK(""), .status = 400, .code = "bad_request",
	  .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("ftp://example.com/"), .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("file:///etc/passwd"), .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("example.com/hook"), .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("https://user:pw@example.com/"), .status = 400,
	  .code = "bad_request", .field = "url", .msg = "user name" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("https://@example.com/"), .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("https://example.com/#frag"), .status = 400,
	  .code = "bad_request", .field = "url", .msg = "fragment" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("https://example.com/a b"), .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("https://example.com/\\u00e9"), .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("https://example.com:0/"), .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("https://example.com:70000/"), .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://127.0.0.1:8080/hook"), .status = 422,
	  .code = "unprocessable_entity", .field = "url", .msg = "loopback" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://2130706433/"), .status = 422,
	  .code = "unprocessable_entity", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://0x7f.1/"), .status = 422,
	  .code = "unprocessable_entity", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://[::1]/"), .status = 422,
	  .code = "unprocessable_entity", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://[::ffff:10.0.0.1]/"), .status = 422,
	  .code = "unprocessable_entity", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://169.254.169.254/latest/meta-data/"),
	  .status = 422, .code = "unprocessable_entity", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("https://192.168.1.10/"), .status = 422,
	  .code = "unprocessable_entity", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://[fe80::1%25eth0]/"), .status = 422,
	  .code = "unprocessable_entity", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://LocalHost./"), .status = 422,
	  .code = "unprocessable_entity", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://a.localhost/"), .status = 422,
	  .code = "unprocessable_entity", .field = "url" },
	{ "POST", "/webhooks", TOKEN, .body = WH_OK("http://93.184.216.34/hook"), .status = 503,
	  .code = "unavailable" },

	/* GET /webhooks */
	{ "GET", "/webhooks?limit=10&offset=0", TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/webhooks?limit=0", TOKEN, .status = 400, .code = "bad_request", .field = "limit" },

	/* GET, PATCH, DELETE /webhooks/:id: an id that is not a UUID is simply not found */
	{ "GET", "/webhooks/" UUID, TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/webhooks/42", TOKEN, .status = 404, .code = "not_found", .msg = "webhook" },
	{ "PATCH", "/webhooks/" UUID, TOKEN, .body = "{\"enabled\":true}", .status = 503, .code = "unavailable" },
	{ "PATCH", "/webhooks/42", TOKEN, .body = "{\"enabled\":true}", .status = 404, .code = "not_found" },
	{ "PATCH", "/webhooks/" UUID, TOKEN, .body = "{}", .status = 400, .code = "bad_request",
	  .msg = "nothing to change" },
	{ "PATCH", "/webhooks/" UUID, TOKEN, .body = "{\"enabled\":\"yes\"}", .status = 400,
	  .code = "bad_request", .field = "enabled" },
	{ "PATCH", "/webhooks/" UUID, TOKEN, .body = "{\"events\":[]}", .status = 400, .code = "bad_request",
	  .field = "events" },
	{ "PATCH", "/webhooks/" UUID, TOKEN, .body = "{\"url\":\"gopher://example.com/\"}", .status = 400,
	  .code = "bad_request", .field = "url" },
	{ "PATCH", "/webhooks/" UUID, TOKEN, .body = "{\"url\":\"http://10.1.2.3/\"}", .status = 422,
	  .code = "unprocessable_entity", .field = "url" },
	{ "PATCH", "/webhooks/" UUID, TOKEN, .body = "{\"secret\":\"x\"}", .status = 400,
	  .code = "bad_request", .field = "secret" },
	{ "DELETE", "/webhooks/" UUID, TOKEN, .status = 503, .code = "unavailable" },
	{ "DELETE", "/webhooks/x", TOKEN, .status = 404, .code = "not_found" },

	/* GET /webhooks/:id/deliveries: pages of at most 50 */
	{ "GET", "/webhooks/" UUID "/deliveries?state=failed&limit=50", TOKEN, .status = 503,
	  .code = "unavailable" },
	{ "GET", "/webhooks/" UUID "/deliveries?state=done", TOKEN, .status = 400, .code = "bad_request",
	  .field = "state" },
	{ "GET", "/webhooks/" UUID "/deliveries?limit=51", TOKEN, .status = 400, .code = "bad_request",
	  .field = "limit" },
	{ "GET", "/webhooks/nope/deliveries", TOKEN, .status = 404, .code = "not_found" },

	/* GET /webhooks/:id/deliveries/:deliveryId and its attempts, by pages of the common size */
	{ "GET", "/webhooks/" UUID "/deliveries/" UUID, TOKEN, .status = 503, .code = "unavailable" },
	{ "GET", "/webhooks/" UUID "/deliveries/7", TOKEN, .status = 404, .code = "not_found",
	  .msg = "delivery" },
	{ "GET", "/webhooks/7/deliveries/" UUID, TOKEN, .status = 404, .code = "not_found", .msg = "webhook" },
	{ "GET", "/webhooks/" UUID "/deliveries/" UUID "/attempts?limit=200&offset=20", TOKEN, .status = 503,
	  .code = "unavailable" },
	{ "GET", "/webhooks/" UUID "/deliveries/" UUID "/attempts?limit=201", TOKEN, .status = 400,
	  .code = "bad_request", .field = "limit" },
	{ "GET", "/webhooks/" UUID "/deliveries/" UUID "/attempts?offset=-1", TOKEN, .status = 400,
	  .code = "bad_request", .field = "offset" },
	{ "GET", "/webhooks/" UUID "/deliveries/x/attempts", TOKEN, .status = 404, .code = "not_found",
	  .msg = "delivery" },

	/* POST /webhooks/:id/deliveries/:deliveryId/retry */
	{ "POST", "/webhooks/" UUID "/deliveries/" UUID "/retry", TOKEN, .status = 503, .code = "unavailable" },
	{ "POST", "/webhooks/" UUID "/deliveries/1/retry", TOKEN, .status = 404, .code = "not_found",
	  .msg = "delivery" },
	{ "POST", "/webhooks/1/deliveries/" UUID "/retry", TOKEN, .status = 404, .code = "not_found",
	  .msg = "webhook" },
#undef WH_OK
#undef WH

#ifdef MEDIAD_TEST_ROUTES
	/* the test-only routes (--enable-test-routes) */
	{ "POST", "/_test/echo", .body = "{\"name\":\"x\"}", .status = 200 },
	{ "POST", "/_test/echo", .body = "{\"name\":\"\"}", .status = 400, .code = "bad_request",
	  .field = "name" },
	{ "GET", "/_test/sleep?ms=0", .status = 200 },
#endif
};
/* clang-format on */

/* ---- the app and the transport ------------------------------------------------------------------ */

static struct config cfg;
static struct app app;
static char media_root[64];
static char tokens[FORGED_TOKEN + 1][TOKEN_MAX_LEN];
static char jti_revoked[TOKEN_JTI_LEN + 1], jti_uncheckable[TOKEN_JTI_LEN + 1];
static char link_ok[160], link_old[160];
static const char *remote_addr = "127.0.0.1";
static int revocation_checks;

/*
 * Stands in for store/revocations.c's revocations_check (the link maps every call of it here):
 * what the store would say about a token, without a store.
 */
enum merr __wrap_revocations_check(struct db *db, struct kv *kv, const char *jti, bool *revoked);

enum merr __wrap_revocations_check(struct db *db, struct kv *kv, const char *jti, bool *revoked)
{
	(void)db;
	(void)kv;
	revocation_checks++;
	if (strcmp(jti, jti_uncheckable) == 0)
		return MERR_UNAVAILABLE;
	*revoked = strcmp(jti, jti_revoked) == 0;
	return MERR_OK;
}

/* One request held in memory: its CGI variables, its body, and what the dispatcher wrote. */
struct mem_io {
	char names[16][64];
	char values[16][2048];
	size_t nparams;
	const char *body;
	size_t len, off;
	bool slow;
	struct buf out;
};

static void mem_set(struct mem_io *m, const char *name, const char *value)
{
	CU_ASSERT_FATAL(m->nparams < 16);
	snprintf(m->names[m->nparams], sizeof(m->names[0]), "%s", name);
	snprintf(m->values[m->nparams], sizeof(m->values[0]), "%s", value);
	m->nparams++;
}

/* A request header as the web server passes it: "X-Thing: v" is HTTP_X_THING. */
static void mem_header(struct mem_io *m, const char *line)
{
	const char *colon = strchr(line, ':');
	char name[64];
	size_t i, o = 0;

	CU_ASSERT_FATAL(colon != NULL);
	if (strncasecmp(line, "Content-Type:", 13) == 0) {
		o = (size_t)snprintf(name, sizeof(name), "CONTENT_TYPE");
	} else {
		o = (size_t)snprintf(name, sizeof(name), "HTTP_");
		for (i = 0; line + i < colon && o + 1 < sizeof(name); i++)
			name[o++] = line[i] == '-' ? '_' : (char)toupper((unsigned char)line[i]);
		name[o] = '\0';
	}
	for (colon++; *colon == ' '; colon++)
		;
	mem_set(m, name, colon);
}

static ssize_t mem_read(void *ctx, char *buf, size_t n)
{
	struct mem_io *m = ctx;
	size_t k = m->len - m->off;

	/* A few bytes at a time: a parser must not count on a whole body in one read. */
	if (k > n)
		k = n;
	if (k > 1000)
		k = 1000;
	memcpy(buf, m->body + m->off, k);
	m->off += k;
	return (ssize_t)k;
}

static ssize_t mem_read_within(void *ctx, char *buf, size_t n, int timeout_ms)
{
	struct mem_io *m = ctx;

	(void)timeout_ms;
	return m->slow ? -2 : mem_read(ctx, buf, n);
}

static int mem_write(void *ctx, const char *buf, size_t n)
{
	struct mem_io *m = ctx;

	return buf_append(&m->out, buf, n);
}

static const char *mem_param(void *ctx, const char *name)
{
	struct mem_io *m = ctx;
	size_t i;

	for (i = 0; i < m->nparams; i++)
		if (strcmp(m->names[i], name) == 0)
			return m->values[i];
	return NULL;
}

/*
 * The access log and the stores' outage lines (stderr) would bury the cases' own diagnostics: while
 * a request is dispatched they go to /dev/null, unless UNIT_VERBOSE is set in the environment.
 */
static int stderr_saved = -1, dev_null = -1;

static void quiet(bool on)
{
	if (dev_null < 0)
		return;
	fflush(stderr);
	dup2(on ? dev_null : stderr_saved, STDERR_FILENO);
}

/* ---- running a case ----------------------------------------------------------------------------- */

/* What came back: the status, the header block and the body. */
struct answer {
	int status;
	char headers[4096];
	const char *body; /* into raw */
	size_t body_len;
	struct buf raw;
};

/*
 * The query of a path-bound link ("expires=...&sig=...") of media LINK_MEDIA_ID for path, valid
 * for an hour or (old) expired an hour ago, into out.
 */
static void make_path_link(char *out, size_t n, const char *path, size_t plen, bool old)
{
	char sig[SIGNLINK_SIG_SIZE], p[SIGNLINK_PATH_MAX + 1];
	int64_t expires = (int64_t)time(NULL) + (old ? -3600 : 3600);

	snprintf(p, sizeof(p), "%.*s", (int)plen, path);
	CU_ASSERT_FATAL(signlink_sign_path(app.stream_key, LINK_MEDIA_ID, expires, p, sig, sizeof(sig)) == 0);
	snprintf(out, n, "expires=%lld&sig=%s", (long long)expires, sig);
}

/* target with the {link} placeholders filled in, into out; {plink:PATH} and {old-plink:PATH} are
 * path-bound links of PATH (the HLS and storyboard files). */
static void expand_target(const char *target, char *out, size_t n)
{
	const char *p = strchr(target, '{'), *end;
	const char *with = NULL;
	char path_link[160];
	size_t skip = 0;
	bool old;

	if (p != NULL && strncmp(p, "{link}", 6) == 0) {
		with = link_ok;
		skip = 6;
	} else if (p != NULL && strncmp(p, "{old-link}", 10) == 0) {
		with = link_old;
		skip = 10;
	} else if (p != NULL && (strncmp(p, "{plink:", 7) == 0 || strncmp(p, "{old-plink:", 11) == 0)) {
		old = p[1] == 'o';
		end = strchr(p, '}');
		CU_ASSERT_FATAL(end != NULL);
		make_path_link(path_link, sizeof(path_link), p + (old ? 11 : 7),
		               (size_t)(end - p) - (old ? 11 : 7), old);
		with = path_link;
		skip = (size_t)(end - p) + 1;
	}
	if (with == NULL)
		snprintf(out, n, "%s", target);
	else
		snprintf(out, n, "%.*s%s%s", (int)(p - target), target, with, p + skip);
}

/* Sends c through dispatch_request; a holds the answer (free a->raw). */
static void run_case(const struct hcase *c, struct answer *a)
{
	static char padded[2 * UPLOAD_CAP];
	struct http_io io = { 0 };
	struct mem_io m;
	char target[1024], num[32];
	const char *q, *end;
	size_t i;

	memset(&m, 0, sizeof(m));
	memset(a, 0, sizeof(*a));
	buf_init(&m.out);
	expand_target(c->target, target, sizeof(target));
	mem_set(&m, "REQUEST_METHOD", c->method);
	mem_set(&m, "REQUEST_URI", target);
	q = strchr(target, '?');
	mem_set(&m, "QUERY_STRING", q != NULL ? q + 1 : "");
	mem_set(&m, "REMOTE_ADDR", remote_addr);
	m.body = c->body != NULL ? c->body : "";
	if (c->pad > 0) {
		CU_ASSERT_FATAL(c->pad < sizeof(padded) && c->pad > 12);
		memcpy(padded, "{\"title\":\"", 10);
		memset(padded + 10, 'a', c->pad - 12);
		memcpy(padded + c->pad - 2, "\"}", 3);
		m.body = padded;
	}
	m.len = strlen(m.body);
	m.slow = c->slow;
	if (c->clen == NULL && (c->body != NULL || c->pad > 0)) {
		snprintf(num, sizeof(num), "%zu", m.len);
		mem_set(&m, "CONTENT_LENGTH", num);
	} else if (c->clen != NULL && strcmp(c->clen, "-") != 0) {
		mem_set(&m, "CONTENT_LENGTH", c->clen);
	}
	if (c->ctype != NULL)
		mem_set(&m, "CONTENT_TYPE", c->ctype);
	else if (c->body != NULL || c->pad > 0)
		mem_set(&m, "CONTENT_TYPE", "application/json");
	if (c->auth != NO_TOKEN) {
		char h[TOKEN_MAX_LEN + 32];

		snprintf(h, sizeof(h), "Bearer %s", tokens[c->auth]);
		mem_set(&m, "HTTP_AUTHORIZATION", h);
	}
	for (i = 0; i < MAX_HEADERS && c->headers[i] != NULL; i++)
		mem_header(&m, c->headers[i]);
	io.ctx = &m;
	io.read = mem_read;
	io.write = mem_write;
	io.param = mem_param;
	io.read_within = mem_read_within;

	quiet(true);
	dispatch_request(&app, &io);
	quiet(false);

	a->raw = m.out;
	a->status = -1;
	if (a->raw.len == 0 || sscanf(a->raw.data, "Status: %d ", &a->status) != 1)
		return;
	end = strstr(a->raw.data, "\r\n\r\n");
	if (end == NULL)
		return;
	snprintf(a->headers, sizeof(a->headers), "%.*s", (int)(end - a->raw.data + 2), a->raw.data);
	a->body = end + 4;
	a->body_len = a->raw.len - (size_t)(a->body - a->raw.data);
}

/* The value of header name (any case) in a, copied into out (n bytes); NULL when a has none. */
static const char *answer_header(const struct answer *a, const char *name, char *out, size_t n)
{
	const char *p = a->headers;
	size_t len = strlen(name);

	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, len) == 0 && p[len] == ':') {
			const char *v = p + len + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, n, "%.*s", e != NULL ? (int)(e - v) : (int)strlen(v), v);
			return out;
		}
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	return NULL;
}

/* Checks a against c (see the comment at the top of the file). Returns false with why (n bytes)
 * saying the first thing that differs. */
static bool answer_ok(const struct hcase *c, const struct answer *a, char *why, size_t n)
{
	struct json_object *o = NULL, *v;
	char h[256];
	bool ok = false;

	why[0] = '\0';
	if (a->status != c->status) {
		snprintf(why, n, "status %d, wanted %d", a->status, c->status);
		goto out;
	}
	if (answer_header(a, "X-Request-Id", h, sizeof(h)) == NULL) {
		snprintf(why, n, "no X-Request-Id");
		goto out;
	}
	if (a->status == 401 &&
	    (answer_header(a, "WWW-Authenticate", h, sizeof(h)) == NULL || strcmp(h, "Bearer") != 0)) {
		snprintf(why, n, "a 401 without WWW-Authenticate: Bearer");
		goto out;
	}
	if (a->status == 405 && answer_header(a, "Allow", h, sizeof(h)) == NULL) {
		snprintf(why, n, "a 405 without Allow");
		goto out;
	}
	if (strcmp(c->method, "HEAD") == 0) {
		ok = a->body_len == 0;
		if (!ok)
			snprintf(why, n, "a HEAD answer with a body");
		goto out;
	}
	if (answer_header(a, "Content-Length", h, sizeof(h)) == NULL ||
	    strtoll(h, NULL, 10) != (long long)a->body_len) {
		snprintf(why, n, "Content-Length does not match the body's %zu bytes", a->body_len);
		goto out;
	}
	if (c->code == NULL) {
		ok = true;
		goto out;
	}
	if (answer_header(a, "Content-Type", h, sizeof(h)) == NULL ||
	    strncmp(h, "application/json", 16) != 0) {
		snprintf(why, n, "the error is not application/json");
		goto out;
	}
	o = json_tokener_parse(a->body);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		snprintf(why, n, "the body is not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(o, "error", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), c->code) != 0) {
		snprintf(why, n, "\"error\" is not \"%s\"", c->code);
		goto out;
	}
	if (!json_object_object_get_ex(o, "message", &v) || !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0) {
		snprintf(why, n, "no \"message\"");
		goto out;
	}
	if (c->msg != NULL && strstr(json_object_get_string(v), c->msg) == NULL) {
		snprintf(why, n, "\"message\" does not say \"%s\"", c->msg);
		goto out;
	}
	if (c->field != NULL ?
	            !json_object_object_get_ex(o, "field", &v) || !json_object_is_type(v, json_type_string) ||
	                    strcmp(json_object_get_string(v), c->field) != 0 :
	            json_object_object_get_ex(o, "field", NULL)) {
		snprintf(why, n, c->field != NULL ? "\"field\" is not \"%s\"" : "a \"field\" (wanted none%s)",
		         c->field != NULL ? c->field : "");
		goto out;
	}
	if (!c->loose && json_object_object_length(o) != 2 + (c->field != NULL)) {
		snprintf(why, n, "more keys than error, message and field");
		goto out;
	}
	ok = true;
out:
	json_object_put(o);
	return ok;
}

/* Runs c and asserts its answer; prints the case and the answer when it is not what c wants. */
static void check_case(const struct hcase *c, const char *label)
{
	struct answer a;
	char why[256];
	bool ok;

	run_case(c, &a);
	ok = answer_ok(c, &a, why, sizeof(why));
	if (!ok)
		fprintf(stderr, "\n  %s %s %s: %s; the answer:\n%s\n", label, c->method, c->target, why,
		        a.raw.len > 0 ? a.raw.data : "(nothing)");
	CU_ASSERT_TRUE(ok);
	buf_free(&a.raw);
}

/* ---- set-up ------------------------------------------------------------------------------------- */

static int make_token(enum auth which, char *jti_out)
{
	struct token_claims claims;
	time_t now = time(NULL);
	const char *secret = which == FORGED_TOKEN ? "another-secret-another-secret-0123456789" : SECRET;

	if (which == EXPIRED_TOKEN)
		now -= 2 * 3600;
	if (token_create(secret, USER_ID, now, 3600, tokens[which], sizeof(tokens[which]), &claims) != 0)
		return -1;
	if (jti_out != NULL)
		memcpy(jti_out, claims.jti, sizeof(claims.jti));
	return 0;
}

static int make_link(char *out, size_t n, int64_t expires)
{
	char sig[SIGNLINK_SIG_SIZE];

	if (signlink_sign(app.stream_key, LINK_MEDIA_ID, expires, sig, sizeof(sig)) != 0)
		return -1;
	snprintf(out, n, "expires=%lld&sig=%s", (long long)expires, sig);
	return 0;
}

static int suite_init(void)
{
	char text[1024], err[256], dir[128];

	if (sodium_init() < 0 || config_defaults(&cfg) != 0)
		return -1;
	if (getenv("UNIT_VERBOSE") == NULL) {
		stderr_saved = dup(STDERR_FILENO);
		dev_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (stderr_saved < 0 || dev_null < 0)
			return -1;
	}
	snprintf(media_root, sizeof(media_root), "/tmp/mediad-handlers-XXXXXX");
	if (mkdtemp(media_root) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/uploads", media_root);
	if (mkdir(dir, 0700) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/outputs", media_root);
	if (mkdir(dir, 0700) != 0)
		return -1;
	/* High limits: the cases share one client address, and only the rate test means to hit one. */
	snprintf(text, sizeof(text),
	         "database_url = " NO_DB "\nredis_url = " NO_REDIS "\njwt_secret = " SECRET "\n"
	         "media_root = %s\nmax_json_bytes = %d\nupload_max_bytes = %d\n"
	         "register_rate_ip = 1000000\nlogin_rate_ip = 1000000\nlogin_rate_ip_email = 1000000\n"
	         "login_fail_account = 1000000\nview_rate_limit = 1000000\nredis_timeout_ms = 100\n",
	         media_root, JSON_CAP, UPLOAD_CAP);
	if (config_parse(&cfg, text, "test_handlers", err, sizeof(err)) != 0 ||
	    config_check(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT | CONFIG_NEED_MEDIA, err, sizeof(err)) != 0) {
		fprintf(stderr, "test_handlers: %s\n", err);
		return -1;
	}
	app.cfg = &cfg;
	app.trusted = NULL;
	if (signlink_derive_key(cfg.jwt_secret, app.stream_key) != 0)
		return -1;
	app.db = db_open(&cfg, NULL, 0);
	app.kv = kv_new(cfg.redis_url, (int)cfg.redis_timeout_ms, err, sizeof(err));
	if (app.db == NULL || app.kv == NULL)
		return -1;
	if (make_token(TOKEN, NULL) != 0 || make_token(REVOKED_TOKEN, jti_revoked) != 0 ||
	    make_token(UNCHECKABLE_TOKEN, jti_uncheckable) != 0 || make_token(EXPIRED_TOKEN, NULL) != 0 ||
	    make_token(FORGED_TOKEN, NULL) != 0)
		return -1;
	if (make_link(link_ok, sizeof(link_ok), (int64_t)time(NULL) + 3600) != 0 ||
	    make_link(link_old, sizeof(link_old), (int64_t)time(NULL) - 3600) != 0)
		return -1;
	return 0;
}

static int suite_cleanup(void)
{
	char dir[128];

	db_free(app.db);
	kv_free(app.kv);
	snprintf(dir, sizeof(dir), "%s/uploads", media_root);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/outputs", media_root);
	rmdir(dir);
	rmdir(media_root);
	config_free(&cfg);
	if (dev_null >= 0) {
		close(dev_null);
		close(stderr_saved);
		dev_null = stderr_saved = -1;
	}
	return 0;
}

/* ---- tests -------------------------------------------------------------------------------------- */

static void test_each_case_answers_its_status_and_error_shape(void)
{
	char label[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(label, sizeof(label), "cases[%zu]", i);
		check_case(&cases[i], label);
	}
}

/* The route a case reaches, or NULL when it reaches none (a 404 or 405 of the dispatcher). */
static const struct route *case_route(const struct hcase *c)
{
	struct route_params params;
	const struct route *r = NULL;
	char target[1024], allow[128], *q;

	expand_target(c->target, target, sizeof(target));
	q = strchr(target, '?');
	if (q != NULL)
		*q = '\0';
	if (router_match(routes, routes_count, c->method, target, &r, &params, allow, sizeof(allow)) !=
	    ROUTE_MATCH)
		return NULL;
	return r;
}

static void test_every_route_has_a_case(void)
{
	size_t i, k, missing = 0;

	for (i = 0; i < routes_count; i++) {
		bool found = false;

		for (k = 0; k < sizeof(cases) / sizeof(cases[0]) && !found; k++)
			found = case_route(&cases[k]) == &routes[i];
		if (!found) {
			fprintf(stderr, "\n  %s %s has no case in tests/unit/test_handlers.c",
			        routes[i].method, routes[i].pattern);
			missing++;
		}
	}
	CU_ASSERT_EQUAL(missing, 0);
}

/* Every ROUTE_AUTH route, its :params made 1: no token, a forged, an expired and a revoked one are
 * 401; a token whose revocation cannot be checked is 503; none reaches its handler. */
static void test_auth_routes_refuse_bad_tokens(void)
{
	static const struct {
		enum auth auth;
		int status;
		const char *code;
	} bad[] = {
		{ NO_TOKEN, 401, "unauthorized" },         { FORGED_TOKEN, 401, "unauthorized" },
		{ EXPIRED_TOKEN, 401, "unauthorized" },    { REVOKED_TOKEN, 401, "unauthorized" },
		{ UNCHECKABLE_TOKEN, 503, "unavailable" },
	};
	size_t i, k, n = 0;

	for (i = 0; i < routes_count; i++) {
		char path[256], label[64];
		const char *p;
		size_t o = 0;

		if ((routes[i].flags & ROUTE_AUTH) == 0)
			continue;
		for (p = routes[i].pattern; *p != '\0' && o + 2 < sizeof(path); p++) {
			if (*p == ':') {
				path[o++] = '1';
				while (p[1] != '\0' && p[1] != '/')
					p++;
			} else {
				path[o++] = *p;
			}
		}
		path[o] = '\0';
		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			struct hcase c = { 0 };

			c.method = routes[i].method;
			c.target = path;
			c.auth = bad[k].auth;
			c.body =
			        strcmp(c.method, "POST") == 0 || strcmp(c.method, "PATCH") == 0 ? "{}" : NULL;
			c.status = bad[k].status;
			c.code = bad[k].code;
			snprintf(label, sizeof(label), "auth case %zu", k);
			check_case(&c, label);
			n++;
		}
	}
	CU_ASSERT_TRUE(n >= 5 * 10);
}

static void test_the_middleware_asks_about_revocation_once_per_request(void)
{
	static const struct hcase with = { "GET", "/projects/x", TOKEN, .status = 404, .code = "not_found" };
	static const struct hcase without = { "GET", "/projects/x", NO_TOKEN, .status = 401,
		                              .code = "unauthorized" };
	static const struct hcase forged = { "GET", "/projects/x", FORGED_TOKEN, .status = 401,
		                             .code = "unauthorized" };
	int before = revocation_checks;

	check_case(&with, "with a token");
	CU_ASSERT_EQUAL(revocation_checks, before + 1);
	/* A missing or forged token is refused before anything is asked. */
	check_case(&without, "without a token");
	check_case(&forged, "with a forged token");
	CU_ASSERT_EQUAL(revocation_checks, before + 1);
}

static void test_registrations_past_the_limit_are_429_with_retry_after(void)
{
	static const struct hcase bad_body = { "POST", "/auth/register", .body = "{", .status = 400,
		                               .code = "bad_request" };
	static const struct hcase limited = { "POST", "/auth/register", .body = "{", .status = 429,
		                              .code = "rate_limited" };
	long long saved = cfg.register_rate_ip;
	struct answer a;
	char h[64];

	/* An address of its own: the local counter (Redis is down) starts from nothing. */
	remote_addr = "192.0.2.77";
	cfg.register_rate_ip = 2;
	check_case(&bad_body, "1st");
	check_case(&bad_body, "2nd");
	check_case(&limited, "3rd");
	run_case(&limited, &a);
	CU_ASSERT_PTR_NOT_NULL(answer_header(&a, "Retry-After", h, sizeof(h)));
	buf_free(&a.raw);
	cfg.register_rate_ip = saved;
	remote_addr = "127.0.0.1";
}

/* Entries of media_root/sub, or -1. */
static int entries(const char *sub)
{
	char dir[128];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", media_root, sub);
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_refused_uploads_leave_nothing_in_the_media_root(void)
{
	size_t i, uploads = 0;

	/* Every upload case has run (the table test) and again here: nothing stayed behind. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cases[i].ctype != NULL && strncmp(cases[i].ctype, "multipart/", 10) == 0) {
			check_case(&cases[i], "upload case");
			uploads++;
		}
	CU_ASSERT_TRUE(uploads >= 5);
	CU_ASSERT_EQUAL(entries("uploads"), 0);
	CU_ASSERT_EQUAL(entries("outputs"), 0);
}

static const struct unit_test tests[] = {
	{ "each case answers its status and our error shape",
	  test_each_case_answers_its_status_and_error_shape },
	{ "every route has a case", test_every_route_has_a_case },
	{ "auth routes refuse a missing, forged, expired or revoked token",
	  test_auth_routes_refuse_bad_tokens },
	{ "the middleware asks about revocation once, and only for a valid token",
	  test_the_middleware_asks_about_revocation_once_per_request },
	{ "registrations past the limit are 429 with Retry-After",
	  test_registrations_past_the_limit_are_429_with_retry_after },
	{ "refused uploads leave nothing in the media root",
	  test_refused_uploads_leave_nothing_in_the_media_root },
};

UNIT_SUITES(UNIT_SUITE("handlers", suite_init, suite_cleanup, tests));
