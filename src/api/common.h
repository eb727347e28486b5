/* common.h: small pieces every handler shares: store errors, times, JSON helpers. */
#ifndef MEDIAD_API_COMMON_H
#define MEDIAD_API_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"
#include "http/request.h"
#include "http/response.h"

struct json_object;

/* Answers a failed store call: "what not found" for MERR_NOT_FOUND, 503 for an unreachable
 * database, and the enum's default message otherwise. */
void resp_store_error(struct http_response *resp, enum merr e, const char *what);
/* Answers a failed store call about one row: "<what> <id> not found" (resp_not_found) for
 * MERR_NOT_FOUND, resp_store_error(resp, e, what) otherwise. */
void resp_store_error_id(struct http_response *resp, enum merr e, const char *what, int64_t id);
/* Formats t as RFC 3339 UTC with milliseconds ("2026-11-21T12:00:00.000Z"). */
void api_time_rfc3339(time_t t, char *out, size_t outlen);
/* {"id": id, "email": email} */
struct json_object *api_user_object(int64_t id, const char *email);
/* The client's address: REMOTE_ADDR, or X-Forwarded-For when REMOTE_ADDR is a trusted proxy and
 * the web server passed one X-Forwarded-For (two are ambiguous: see clientip_resolve_request). */
void api_client_ip(struct http_request *req, char *out, size_t outlen);
/* The client as rate limits count it (one place for every limit key): api_client_ip, an IPv6
 * client cut to its /64 (clientip_limit_key). out should hold CLIENTIP_KEY_SIZE bytes. */
void api_client_limit_key(struct http_request *req, char *out, size_t outlen);

/*
 * The absolute base of the links a client takes elsewhere (stream links, a tus upload's URL), no
 * trailing '/': public_base_url when set, followed by req->base unless it names a path of its own
 * ("https://example.com/~user/api" is taken as it is; "https://example.com" gets the prefix);
 * else the scheme and host the client used and req->base. Cut to outlen - 1 bytes.
 */
void api_link_base(struct http_request *req, char *out, size_t outlen);

/* Reads ?limit= (default 50, 1..200) and ?offset= (default 0). Returns false with a 400 set. */
bool api_pagination(struct http_request *req, struct http_response *resp, int64_t *limit, int64_t *offset);
/* Answers {"items": items, "total", "limit", "offset"}; takes ownership of items. */
void api_list_response(struct http_response *resp, struct json_object *items, int64_t total, int64_t limit,
                       int64_t offset);
/* api_list_response with "totalCapped": capped after "total" (a list that counts only up to a
 * cap, and says total is that cap when there are more). */
void api_list_response_capped(struct http_response *resp, struct json_object *items, int64_t total,
                              bool capped, int64_t limit, int64_t offset);
/* Parses the :id route parameter; answers 404 "<what> <raw> not found" and returns false if it is
 * not a positive integer. */
bool api_route_id(struct http_request *req, struct http_response *resp, const char *what, int64_t *id);

#endif
