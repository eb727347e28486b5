/* request.c: CGI parameters, headers, route parameters and the capped body reader. */
#include "config.h"

#include "http/request.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"

const char *http_param(const struct http_request *req, const char *name)
{
	return req->io->param(req->io->ctx, name);
}

const char *http_header(const struct http_request *req, const char *name)
{
	char cgi[128];
	size_t i, o = 0;

	/* Content-Type and Content-Length are CGI meta-variables without the HTTP_ prefix. */
	if (strcasecmp(name, "Content-Type") == 0)
		return http_param(req, "CONTENT_TYPE");
	if (strcasecmp(name, "Content-Length") == 0)
		return http_param(req, "CONTENT_LENGTH");
	o = (size_t)snprintf(cgi, sizeof(cgi), "HTTP_");
	for (i = 0; name[i] != '\0'; i++) {
		if (o + 1 >= sizeof(cgi))
			return NULL;
		cgi[o++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	}
	cgi[o] = '\0';
	return http_param(req, cgi);
}

size_t http_param_count(const struct http_request *req, const char *name)
{
	if (req->io->param_count != NULL)
		return req->io->param_count(req->io->ctx, name);
	return http_param(req, name) != NULL ? 1 : 0;
}

long long http_content_length(const struct http_request *req)
{
	const char *s = http_param(req, "CONTENT_LENGTH");
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	if (!isdigit((unsigned char)*s))
		return -2;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -2;
	return v;
}

const char *http_route_param(const struct http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->params.n; i++)
		if (strcmp(req->params.p[i].name, name) == 0)
			return req->params.p[i].value;
	return NULL;
}

bool http_route_id(const struct http_request *req, const char *name, int64_t *out)
{
	const char *s = http_route_param(req, name);
	char *end;
	long long v;

	/* Digits only: no sign, no spaces, no leading zeros beyond "0" itself, at most 18 digits. */
	if (s == NULL || *s < '1' || *s > '9' || strlen(s) > 18)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return false;
	*out = v;
	return true;
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * How long the next body read may wait, in milliseconds; 0 when the body is already too slow.
 * Two bounds, both counted from the first read: no single wait is longer than
 * body_read_timeout_ms, and once that first stretch has passed the body must keep up
 * body_min_rate_bps on average, i.e. by time t it must have brought (t - timeout) x rate bytes
 * (mod_reqtimeout's "body=T,MinRate=R"). The first bound alone would let a client that sends one
 * byte every few seconds hold a responder for as long as it likes.
 */
static long long body_wait_ms(const struct http_request *req, long long now)
{
	const struct config *cfg = req->cfg;
	long long wait = cfg->body_read_timeout_ms;

	if (cfg->body_min_rate_bps > 0) {
		/* body_read is capped by the upload limit (at most 2^40): times 1000 it fits in 63 bits. */
		long long due = req->body_start_ms + cfg->body_read_timeout_ms +
		                (long long)(req->body_read * 1000 / (uint64_t)cfg->body_min_rate_bps);

		if (due - now < wait)
			wait = due - now;
	}
	return wait > 0 ? wait : 0;
}

ssize_t http_read(struct http_request *req, char *buf, size_t n)
{
	ssize_t r;

	if (req->body_timed_out)
		return -2;
	if (req->io->read_within != NULL && req->cfg != NULL) {
		long long now = monotonic_ms(), wait;

		if (req->body_start_ms == 0)
			req->body_start_ms = now;
		wait = body_wait_ms(req, now);
		r = wait > 0 ?
		            req->io->read_within(req->io->ctx, buf, n, wait > INT_MAX ? INT_MAX : (int)wait) :
		            -2;
	} else {
		r = req->io->read(req->io->ctx, buf, n);
	}
	if (r > 0) {
		req->body_read += (uint64_t)r;
	} else {
		req->body_consumed = true;
		req->body_timed_out = r == -2;
	}
	return r;
}

void http_body_too_slow(const struct http_request *req, char *out, size_t n)
{
	const struct config *cfg = req->cfg;

	if (cfg == NULL) {
		snprintf(out, n, "the request body came too slowly");
		return;
	}
	snprintf(out, n,
	         "the request body came too slowly: after %llu bytes, nothing for %lld ms, or less "
	         "than %lld bytes/s on average",
	         (unsigned long long)req->body_read, cfg->body_read_timeout_ms, cfg->body_min_rate_bps);
}

enum merr http_read_body(struct http_request *req, size_t cap, struct buf *out)
{
	long long cl = http_content_length(req);
	char chunk[16384];
	ssize_t r;

	if (cl == -2)
		return MERR_BAD_REQUEST;
	if (cl >= 0 && (unsigned long long)cl > cap)
		return MERR_PAYLOAD_TOO_LARGE;
	for (;;) {
		r = http_read(req, chunk, sizeof(chunk));
		if (r == -2)
			return MERR_REQUEST_TIMEOUT;
		if (r < 0)
			return MERR_BAD_REQUEST;
		if (r == 0)
			break;
		if (out->len + (size_t)r > cap)
			return MERR_PAYLOAD_TOO_LARGE;
		if (buf_append(out, chunk, (size_t)r) != 0)
			return MERR_INTERNAL;
	}
	if (cl >= 0 && out->len != (size_t)cl)
		return MERR_BAD_REQUEST;
	return MERR_OK;
}

/* Copies the path part of REQUEST_URI, percent-decoded, into req->path. */
static enum merr http_set_path(struct http_request *req, const char *uri)
{
	const char *q = strchr(uri, '?');
	size_t n = q ? (size_t)(q - uri) : strlen(uri);
	struct buf dec = BUF_INIT;
	enum merr rc = MERR_BAD_REQUEST;

	if (n == 0 || uri[0] != '/' || n >= sizeof(req->path))
		goto out;
	/* '+' is literal in a path; "%2F" stays a decoded '/' inside one segment only after
	 * routing, so refuse it outright rather than let it change the segment structure. */
	if (url_decode(uri, n, false, &dec) != 0 || strlen(dec.data) != dec.len)
		goto out;
	if (memmem(uri, n, "%2F", 3) != NULL || memmem(uri, n, "%2f", 3) != NULL)
		goto out;
	if (dec.len >= sizeof(req->path))
		goto out;
	memcpy(req->path, dec.data, dec.len + 1);
	rc = MERR_OK;
out:
	buf_free(&dec);
	return rc;
}

/* The n bytes of s begin path and end at a segment boundary: path is s, or goes on with a '/'. */
static bool under_prefix(const char *path, const char *s, size_t n)
{
	if (n == 0 || strncmp(path, s, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/' || s[n - 1] == '/';
}

/*
 * Copies the n bytes of s into out (outlen bytes) as a URL path, percent-encoding what is neither
 * unreserved nor a path character, without a trailing '/' and with a leading one. Returns 0, or -1
 * when it does not fit.
 */
static int base_encode(const char *s, size_t n, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	while (n > 0 && s[n - 1] == '/')
		n--;
	out[0] = '\0';
	if (n == 0)
		return 0;
	if (s[0] != '/') {
		if (outlen < 2)
			return -1;
		out[o++] = '/';
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || strchr("-._~/!$&'()*+,;=:@", c) != NULL) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outlen)
				return -1;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

/* A URL path character that needs no percent-encoding: config_check_base_path's set. */
static bool plain_path_char(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("-._~/!$&'()*+,;=:@", c) != NULL);
}

/*
 * The n bytes of s are a plain path to use as a prefix: '/' then segments of plain_path_char,
 * none empty (no "//", which a browser reads as another host) and none "." or "..".
 */
static bool plain_prefix(const char *s, size_t n)
{
	size_t i, seg = 1;

	if (n < 2 || s[0] != '/')
		return false;
	for (i = 1; i <= n; i++) {
		if (i < n && s[i] != '/') {
			if (!plain_path_char((unsigned char)s[i]))
				return false;
			continue;
		}
		if (i == seg || (i - seg == 1 && s[seg] == '.') ||
		    (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
			return false;
		seg = i + 1;
	}
	return true;
}

/*
 * The path is not in normal form: it has an empty, "." or ".." segment. The web server may
 * have resolved these before it chose the script, so SCRIPT_NAME cannot be compared with it.
 */
static bool path_not_normal(const char *path)
{
	size_t n = strlen(path);

	if (strstr(path, "//") != NULL || strstr(path, "/./") != NULL || strstr(path, "/../") != NULL)
		return true;
	return (n >= 2 && strcmp(path + n - 2, "/.") == 0) || (n >= 3 && strcmp(path + n - 3, "/..") == 0);
}

/*
 * Takes the prefix the API is served under off req->path into req->base, by the rules above
 * http_request_init (request.h). base_path may be NULL or "", script_name NULL. Returns MERR_OK,
 * or MERR_BAD_REQUEST when the prefix does not fit req->base.
 */
static enum merr http_set_base(struct http_request *req, const char *base_path, const char *script_name)
{
	size_t n = 0, len;
	const char *slash;

	if (base_path != NULL && base_path[0] != '\0') {
		/* Compared as configured: a leading '/' may be left out, trailing ones are ignored. */
		const char *bp = base_path[0] == '/' ? base_path + 1 : base_path;
		size_t bn = strlen(bp);

		while (bn > 0 && bp[bn - 1] == '/')
			bn--;
		if (base_encode(base_path, strlen(base_path), req->base, sizeof(req->base)) != 0)
			return MERR_BAD_REQUEST;
		if (bn > 0 && req->path[0] == '/' && under_prefix(req->path + 1, bp, bn))
			n = bn + 1;
	} else if (script_name != NULL && script_name[0] == '/' && !path_not_normal(req->path) &&
	           !under_prefix(req->path, script_name, strlen(script_name))) {
		/* Rewritten onto a script: its folder is the prefix, if the path is under it and the
		 * folder is a plain path (never "//host", which would make our links leave the site). */
		slash = strrchr(script_name, '/');
		if (under_prefix(req->path, script_name, (size_t)(slash - script_name)) &&
		    plain_prefix(script_name, (size_t)(slash - script_name)))
			n = (size_t)(slash - script_name);
		if (base_encode(req->path, n, req->base, sizeof(req->base)) != 0)
			return MERR_BAD_REQUEST;
	}
	if (n == 0)
		return MERR_OK;
	len = strlen(req->path);
	memmove(req->path, req->path + n, len - n + 1);
	if (req->path[0] == '\0')
		snprintf(req->path, sizeof(req->path), "/");
	return MERR_OK;
}

enum merr http_request_init(struct http_request *req, struct app *app, const struct config *cfg,
                            const struct http_io *io)
{
	const char *uri, *qs;

	memset(req, 0, sizeof(*req));
	req->app = app;
	req->cfg = cfg;
	req->io = io;
	req->user_id = 0;
	req->method = http_param(req, "REQUEST_METHOD");
	if (req->method == NULL)
		req->method = "GET";
	uri = http_param(req, "REQUEST_URI");
	if (uri == NULL)
		uri = http_param(req, "SCRIPT_NAME");
	if (uri == NULL)
		uri = "/";
	qs = http_param(req, "QUERY_STRING");
	req->query_string = qs ? qs : "";
	if (http_set_path(req, uri) != MERR_OK || http_set_base(req, cfg != NULL ? cfg->base_path : NULL,
	                                                        http_param(req, "SCRIPT_NAME")) != MERR_OK) {
		snprintf(req->path, sizeof(req->path), "/");
		req->base[0] = '\0';
		return MERR_BAD_REQUEST;
	}
	if (query_parse(req->query_string, &req->query) != 0)
		return MERR_BAD_REQUEST;
	return MERR_OK;
}

void http_request_free(struct http_request *req)
{
	query_free(&req->query);
}
