/* request.c: CGI parameters, headers, route parameters and the capped body reader. */
#include "config.h"

#include "http/request.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

ssize_t http_read(struct http_request *req, char *buf, size_t n)
{
	ssize_t r = req->io->read(req->io->ctx, buf, n);

	if (r > 0)
		req->body_read += (uint64_t)r;
	else
		req->body_consumed = true;
	return r;
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

enum merr http_request_init(struct http_request *req, struct app *app, const struct http_io *io)
{
	const char *uri, *qs;

	memset(req, 0, sizeof(*req));
	req->app = app;
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
	if (http_set_path(req, uri) != MERR_OK) {
		snprintf(req->path, sizeof(req->path), "/");
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
