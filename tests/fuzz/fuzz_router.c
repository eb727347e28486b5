/* fuzz_router.c: libFuzzer target for request paths: percent-decoding into the fixed path buffer
 * (http_request_init) and matching into the fixed route parameter buffers (router_match). */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "api/routes.h"
#include "fuzz.h"
#include "http/request.h"
#include "http/router.h"

/*
 * Input: one control byte, then a REQUEST_URI (up to a NUL, if any).
 *   bits 0-3: the method; bit 4: the real route table (api/routes.c) or the edge table below;
 *   bits 5-7: the size of the Allow buffer (0, 1, 8, 16, 24, 40, 64 or 128 bytes).
 * The URI goes through http_request_init as the web server hands it (QUERY_STRING is what
 * follows '?'), the decoded path through router_match; the raw URI is matched as a path too,
 * so segments with any byte reach the matcher.
 */

static void h_none(struct http_request *req, struct http_response *resp)
{
	(void)req;
	(void)resp;
}

/* Patterns at the matcher's limits: 4 parameters (the most), 5 (never matches), a 31-byte name
 * (the longest), a 32-byte one (never matches), a bare ':', empty segments, HEAD beside GET. */
static const struct route edge_table[] = {
	{ "GET", "/", h_none, ROUTE_PUBLIC },
	{ "GET", "/:only", h_none, ROUTE_PUBLIC },
	{ "GET", "/a/:p1/:p2/:p3/:p4", h_none, ROUTE_PUBLIC },
	{ "PUT", "/a/:p1/:p2/:p3/:p4/:p5", h_none, ROUTE_PUBLIC },
	{ "POST", "/n/:abcdefghijklmnopqrstuvwxyz01234", h_none, ROUTE_PUBLIC },
	{ "POST", "/n/:abcdefghijklmnopqrstuvwxyz012345", h_none, ROUTE_PUBLIC },
	{ "DELETE", "/c/:", h_none, ROUTE_PUBLIC },
	{ "PATCH", "/e//:id/", h_none, ROUTE_PUBLIC },
	{ "HEAD", "/h/:id", h_none, ROUTE_PUBLIC },
	{ "GET", "/h/:id", h_none, ROUTE_PUBLIC },
	{ "OPTIONS", "/h/:id/x", h_none, ROUTE_PUBLIC },
	{ "GET", "/h/:id/x", h_none, ROUTE_PUBLIC },
	{ "PATCH", "/h/:id/x", h_none, ROUTE_PUBLIC },
	{ "DELETE", "/h/:id/x", h_none, ROUTE_PUBLIC },
	{ "POST", "/h/:id/x", h_none, ROUTE_PUBLIC },
	{ "PUT", "/h/:id/x", h_none, ROUTE_PUBLIC },
};

struct fz_io {
	const char *uri, *query, *method;
};

static ssize_t fz_read(void *ctx, char *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

static int fz_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

static const char *fz_param(void *ctx, const char *name)
{
	const struct fz_io *io = ctx;

	if (strcmp(name, "REQUEST_URI") == 0)
		return io->uri;
	if (strcmp(name, "QUERY_STRING") == 0)
		return io->query;
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return io->method;
	return NULL;
}

/* A match must rebuild path from the pattern and the parameters, each value a whole segment. */
static void fz_check_match(const struct route *r, const char *method, const char *path,
                           const struct route_params *params)
{
	char rebuilt[HTTP_MAX_PATH + 16];
	const char *p = r->pattern;
	size_t o = 0, k = 0, n, i;

	FUZZ_CHECK(strcmp(r->method, method) == 0 ||
	           (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0));
	FUZZ_CHECK(params->n <= ROUTE_MAX_PARAMS);
	for (i = 0; i < params->n; i++) {
		n = strnlen(params->p[i].value, ROUTE_MAX_PARAM_LEN);
		FUZZ_CHECK(n > 0 && n < ROUTE_MAX_PARAM_LEN && strchr(params->p[i].value, '/') == NULL);
		n = strnlen(params->p[i].name, sizeof(params->p[i].name));
		FUZZ_CHECK(n > 0 && n < sizeof(params->p[i].name));
	}
	while (*p != '\0') {
		n = strcspn(p + 1, "/") + 1;
		if (p[1] == ':') {
			FUZZ_CHECK(k < params->n && strlen(params->p[k].name) == n - 2 &&
			           memcmp(params->p[k].name, p + 2, n - 2) == 0);
			o += (size_t)snprintf(rebuilt + o, sizeof(rebuilt) - o, "/%s", params->p[k].value);
			k++;
		} else {
			o += (size_t)snprintf(rebuilt + o, sizeof(rebuilt) - o, "%.*s", (int)n, p);
		}
		FUZZ_CHECK(o < sizeof(rebuilt));
		p += n;
	}
	FUZZ_CHECK(k == params->n);
	FUZZ_CHECK(strcmp(rebuilt, path) == 0);
}

static void fz_match(const struct route *table, size_t count, const char *method, const char *path,
                     size_t allowlen)
{
	char allow[128 + 1];
	const struct route *r = &table[0];
	struct route_params params;
	enum route_result rc;

	memset(&params, 0xa5, sizeof(params));
	/* One byte past allowlen must stay untouched. */
	memset(allow, 'Z', sizeof(allow));
	rc = router_match(table, count, method, path, &r, &params, allowlen ? allow : NULL, allowlen);
	FUZZ_CHECK(allow[allowlen] == 'Z');
	switch (rc) {
	case ROUTE_MATCH:
		FUZZ_CHECK(r != NULL);
		fz_check_match(r, method, path, &params);
		break;
	case ROUTE_NOT_FOUND:
		FUZZ_CHECK(r == NULL && params.n == 0 && (allowlen == 0 || allow[0] == '\0'));
		break;
	case ROUTE_METHOD_NOT_ALLOWED:
		FUZZ_CHECK(r == NULL && params.n == 0);
		FUZZ_CHECK(allowlen == 0 || strlen(allow) < allowlen);
		FUZZ_CHECK(allowlen < 8 || allow[0] != '\0');
		break;
	default:
		FUZZ_CHECK(!"router_match returned an unknown result");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET",     "HEAD",  "POST",  "PUT",     "PATCH", "DELETE",
		                               "OPTIONS", "get",   "",      "TRACE",   "GET ",  "HEADX",
		                               "CONNECT", "DELET", "POSTS", "PROPFIND" };
	static const size_t allow_sizes[] = { 0, 1, 8, 16, 24, 40, 64, 128 };
	struct fz_io fio;
	struct http_io io = { .ctx = &fio, .read = fz_read, .write = fz_write, .param = fz_param };
	struct http_request req;
	const struct route *table, *matched;
	size_t count, allowlen;
	char *uri, *q;
	int64_t id;
	enum merr rc;

	if (size < 1)
		return 0;
	uri = malloc(size);
	if (uri == NULL)
		return 0;
	memcpy(uri, data + 1, size - 1);
	uri[size - 1] = '\0';
	fio.uri = uri;
	fio.method = methods[data[0] & 15];
	q = strchr(uri, '?');
	fio.query = q != NULL ? q + 1 : NULL;
	table = (data[0] & 16) ? edge_table : routes;
	count = (data[0] & 16) ? sizeof(edge_table) / sizeof(edge_table[0]) : routes_count;
	allowlen = allow_sizes[data[0] >> 5];

	rc = http_request_init(&req, NULL, NULL, &io);
	FUZZ_CHECK(rc == MERR_OK || rc == MERR_BAD_REQUEST);
	FUZZ_CHECK(req.path[0] == '/' && strnlen(req.path, sizeof(req.path)) < sizeof(req.path));
	FUZZ_CHECK(strcmp(req.method, fio.method) == 0);
	if (rc == MERR_OK) {
		/* Decoding never lengthens, nor hides a '/' (%2F is refused), nor keeps a NUL. */
		FUZZ_CHECK(strlen(req.path) <= (q != NULL ? (size_t)(q - uri) : strlen(uri)));
		FUZZ_CHECK(req.query.n <= QUERY_MAX_PARAMS);
		fz_match(table, count, req.method, req.path, allowlen);
		req.params.n = 0;
		if (router_match(table, count, req.method, req.path, &matched, &req.params, NULL, 0) ==
		            ROUTE_MATCH &&
		    http_route_id(&req, "id", &id)) {
			const char *s = http_route_param(&req, "id");

			FUZZ_CHECK(s != NULL && id > 0 && s[0] >= '1' && s[0] <= '9' && strlen(s) <= 18 &&
			           strspn(s, "0123456789") == strlen(s));
		}
	}
	http_request_free(&req);
	/* The raw URI as a decoded path (as long as one may be): any byte but NUL in a segment. */
	if (uri[0] == '/' && strlen(uri) < HTTP_MAX_PATH)
		fz_match(table, count, fio.method, uri, allowlen);
	free(uri);
	return 0;
}
