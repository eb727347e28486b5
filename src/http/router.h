/* router.h: one table of "METHOD /path/:param" routes, matched without allocation. */
#ifndef MEDIAD_ROUTER_H
#define MEDIAD_ROUTER_H

#include <stddef.h>

#include "http/request.h"

struct http_response;

typedef void (*route_handler)(struct http_request *req, struct http_response *resp);

enum route_flags {
	ROUTE_PUBLIC = 0,
	ROUTE_AUTH = 1 << 0, /* the auth middleware runs first; the handler gets req->user_id */
};

struct route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/projects/:id/assets" */
	route_handler handler;
	unsigned flags;
};

enum route_result { ROUTE_MATCH, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

/*
 * Matches method and path against table[0..n). On ROUTE_MATCH, *out is the route and params
 * holds the :name segments. On ROUTE_METHOD_NOT_ALLOWED, allow receives the permitted methods
 * ("GET, HEAD, POST"). HEAD matches a GET route when the table has no HEAD route for the path.
 * A segment longer than ROUTE_MAX_PARAM_LEN never matches a parameter.
 */
enum route_result router_match(const struct route *table, size_t n, const char *method, const char *path,
                               const struct route **out, struct route_params *params, char *allow,
                               size_t allowlen);

#endif
