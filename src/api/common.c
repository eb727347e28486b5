/* common.c: helpers shared by the handlers. */
#include "config.h"

#include "api/common.h"

#include <json-c/json.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "core/config.h"
#include "http/clientip.h"
#include "http/query.h"
#include <string.h>

/* The scheme and host the client used, for links when public_base_url is not set. Only host
 * characters are copied: a Host header cannot inject anything into the link. */
static void request_origin(struct http_request *req, char *out, size_t outlen)
{
	const char *https = http_param(req, "HTTPS"), *host = http_header(req, "Host");
	const char *scheme = (https != NULL && strcmp(https, "on") == 0) ? "https" : "http";
	char h[256];
	size_t i, o = 0;

	if (host == NULL)
		host = http_param(req, "SERVER_NAME");
	for (i = 0; host != NULL && host[i] != '\0' && o + 1 < sizeof(h); i++) {
		char c = host[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '-' || c == ':' || c == '[' || c == ']')
			h[o++] = c;
	}
	h[o] = '\0';
	snprintf(out, outlen, "%s://%s", scheme, o ? h : "localhost");
}

/* url (public_base_url) has a path past its host, beyond a lone '/'. */
static bool url_has_path(const char *url)
{
	const char *p = strstr(url, "://");
	const char *slash = strchr(p != NULL ? p + 3 : url, '/');

	return slash != NULL && slash[strspn(slash, "/")] != '\0';
}

void api_link_base(struct http_request *req, char *out, size_t outlen)
{
	const char *pub = req->app->cfg->public_base_url;
	char origin[300];
	size_t n;

	if (pub != NULL && pub[0] != '\0') {
		n = strlen(pub);
		/* A trailing slash would double the one every link adds. */
		while (n > 0 && pub[n - 1] == '/')
			n--;
		snprintf(out, outlen, "%.*s%s", (int)n, pub, url_has_path(pub) ? "" : req->base);
		return;
	}
	request_origin(req, origin, sizeof(origin));
	snprintf(out, outlen, "%s%s", origin, req->base);
}

void resp_store_error(struct http_response *resp, enum merr e, const char *what)
{
	switch (e) {
	case MERR_NOT_FOUND:
		resp_error(resp, e, NULL, "%s not found", what);
		break;
	case MERR_UNAVAILABLE:
		resp_error(resp, e, NULL, "the database is unavailable; try again shortly");
		break;
	case MERR_CONFLICT:
		resp_error(resp, e, NULL, "%s already exists", what);
		break;
	case MERR_BAD_REQUEST:
		resp_error(resp, e, NULL, "%s: a value is out of range", what);
		break;
	default:
		resp_error(resp, MERR_INTERNAL, NULL, "internal error");
		break;
	}
}

void resp_store_error_id(struct http_response *resp, enum merr e, const char *what, int64_t id)
{
	if (e == MERR_NOT_FOUND)
		resp_not_found(resp, what, id);
	else
		resp_store_error(resp, e, what);
}

void api_time_rfc3339(time_t t, char *out, size_t outlen)
{
	struct tm tm;
	char tmp[32];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.000Z", tmp);
}

struct json_object *api_user_object(int64_t id, const char *email)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "email", json_object_new_string(email));
	return o;
}

void api_client_ip(struct http_request *req, char *out, size_t outlen)
{
	const char *remote = http_param(req, "REMOTE_ADDR");

	if (remote == NULL)
		remote = "0.0.0.0";
	if (req->app->trusted == NULL ||
	    clientip_resolve_request(req->app->trusted, remote, http_header(req, "X-Forwarded-For"),
	                             http_param_count(req, "HTTP_X_FORWARDED_FOR"), out, outlen) != 0)
		snprintf(out, outlen, "%s", remote);
}

void api_client_limit_key(struct http_request *req, char *out, size_t outlen)
{
	char ip[CLIENTIP_ADDR_SIZE + 16];

	api_client_ip(req, ip, sizeof(ip));
	/* Not an address (a unix socket peer, say): the text itself is the key. */
	if (clientip_limit_key(ip, out, outlen) != 0)
		snprintf(out, outlen, "%s", ip);
}

#define PAGE_DEFAULT 50
#define PAGE_MAX 200
#define OFFSET_MAX 1000000000LL

/* A non-negative decimal with no sign or spaces, at most max. */
static bool parse_count(const char *s, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 12)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

bool api_pagination(struct http_request *req, struct http_response *resp, int64_t *limit, int64_t *offset)
{
	const char *l = query_get(&req->query, "limit"), *o = query_get(&req->query, "offset");

	*limit = PAGE_DEFAULT;
	*offset = 0;
	if (l != NULL && (!parse_count(l, PAGE_MAX, limit) || *limit < 1)) {
		resp_error(resp, MERR_BAD_REQUEST, "limit", "limit must be an integer from 1 to %d",
		           PAGE_MAX);
		return false;
	}
	if (o != NULL && !parse_count(o, OFFSET_MAX, offset)) {
		resp_error(resp, MERR_BAD_REQUEST, "offset", "offset must be an integer from 0 to %lld",
		           OFFSET_MAX);
		return false;
	}
	return true;
}

/* api_list_response, with "totalCapped" when capped >= 0. */
static void list_response(struct http_response *resp, struct json_object *items, int64_t total, int capped,
                          int64_t limit, int64_t offset)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL) {
		json_object_put(items);
		resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
		return;
	}
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "total", json_object_new_int64(total));
	if (capped >= 0)
		json_object_object_add(o, "totalCapped", json_object_new_boolean(capped));
	json_object_object_add(o, "limit", json_object_new_int64(limit));
	json_object_object_add(o, "offset", json_object_new_int64(offset));
	resp_json(resp, 200, o);
}

void api_list_response(struct http_response *resp, struct json_object *items, int64_t total, int64_t limit,
                       int64_t offset)
{
	list_response(resp, items, total, -1, limit, offset);
}

void api_list_response_capped(struct http_response *resp, struct json_object *items, int64_t total,
                              bool capped, int64_t limit, int64_t offset)
{
	list_response(resp, items, total, capped ? 1 : 0, limit, offset);
}

bool api_route_id(struct http_request *req, struct http_response *resp, const char *what, int64_t *id)
{
	if (http_route_id(req, "id", id))
		return true;
	resp_error(resp, MERR_NOT_FOUND, NULL, "%s %s not found", what, http_route_param(req, "id"));
	return false;
}
