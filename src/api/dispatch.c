/* dispatch.c: request id, CORS, routing, 404/405/OPTIONS, the auth hook, the access log line. */
#include "config.h"

#include "api/dispatch.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api/authn.h"
#include "api/routes.h"
#include "api/tus.h"
#include "app.h"
#include "core/config.h"
#include "core/log.h"
#include "http/cors.h"
#include "http/response.h"
#include "http/router.h"

/* Request ids: a random per-process prefix and a counter, so ids from a pool never collide in
 * practice and cost no system call per request. */
static void next_request_id(char out[17])
{
	static unsigned prefix;
	static unsigned counter;
	static pid_t owner;

	if (owner != getpid()) {
		if (getrandom(&prefix, sizeof(prefix), 0) != (ssize_t)sizeof(prefix))
			prefix = (unsigned)getpid() * 2654435761u;
		owner = getpid();
	}
	snprintf(out, 17, "%08x%08x", prefix, ++counter);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

void dispatch_request(struct app *app, const struct http_io *io)
{
	struct http_request req;
	struct http_response resp;
	const struct route *route = NULL;
	char allow[128];
	struct timespec t0;
	enum merr init;
	const char *origin;
	bool cors_ok;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	init = http_request_init(&req, app, app->cfg, io);
	next_request_id(req.request_id);
	log_set_request_id(req.request_id);
	http_response_init(&resp, strcmp(req.method, "HEAD") == 0);
	/* Before anything can be sent: every answer, errors and streams included, says whether the
	 * page that asked may read it. */
	origin = http_header(&req, "Origin");
	cors_ok = cors_response_headers(app->cfg->cors_origins, origin, &resp);

	if (init != MERR_OK) {
		resp_error(&resp, MERR_BAD_REQUEST, NULL, "malformed request path or query string");
		goto send;
	}
	tus_route_headers(&req, &resp);
	switch (router_match(routes, routes_count, req.method, req.path, &route, &req.params, allow,
	                     sizeof(allow))) {
	case ROUTE_NOT_FOUND:
		resp_error(&resp, MERR_NOT_FOUND, NULL, "no route for %s %s", req.method, req.path);
		goto send;
	case ROUTE_METHOD_NOT_ALLOWED:
		/* No route has OPTIONS: it is answered here for every path, preflights before any
		 * authentication (browsers send them without the token). */
		if (strcmp(req.method, "OPTIONS") == 0) {
			cors_options(origin, http_header(&req, "Access-Control-Request-Method"), cors_ok,
			             allow, &resp);
			/* tus clients ask OPTIONS /uploads what the server supports. */
			if (resp.status == 204)
				tus_options(&req, &resp);
			goto send;
		}
		resp_header(&resp, "Allow", "%s, OPTIONS", allow);
		resp_error(&resp, MERR_METHOD_NOT_ALLOWED, NULL, "%s is not allowed here; use %s", req.method,
		           allow);
		goto send;
	case ROUTE_MATCH:
		break;
	}
	if ((route->flags & ROUTE_AUTH) != 0 && !authn_require(&req, &resp))
		goto send;
	route->handler(&req, &resp);
send:
	/* A body the handler did not read (an early 401, 404 or 413) is left unread: FastCGI lets
	 * the responder answer first, and the web server discards the rest. Reading it would let a
	 * client that announces a large body and sends it slowly hold this responder. */
	resp_send(&req, &resp);
	log_request(req.request_id, req.method, req.path, resp.status, ms_since(&t0));
	log_set_request_id(NULL);
	http_response_free(&resp);
	http_request_free(&req);
}
