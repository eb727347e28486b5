/* health.c: GET /healthz, and the test-only echo route. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <time.h>

#include "http/query.h"

#include "api/handlers.h"
#include "app.h"
#include "core/config.h"
#include "http/json_body.h"
#include "store/db.h"
#include "store/kv.h"

/* 200 "ok" with both stores, or with PostgreSQL and no Redis configured ("redis": "not
 * configured": a choice, not a fault); 200 "degraded" with a configured Redis down (every route
 * still works without it: it only holds what may be lost); 503 "unavailable" with PostgreSQL down. */
void handle_healthz(struct http_request *req, struct http_response *resp)
{
	/* Both at once: PostgreSQL runs its SELECT 1 while Redis answers the PING. */
	bool pg = db_ping_send(req->app->db) == MERR_OK;
	bool off = !kv_configured(req->app->kv);
	bool rd = off || kv_ping(req->app->kv) == MERR_OK;
	struct json_object *o;

	pg = pg && db_ping_wait(req->app->db) == MERR_OK;
	o = json_object_new_object();

	if (o == NULL) {
		resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
		return;
	}
	if (!pg) {
		json_object_object_add(o, "error", json_object_new_string("unavailable"));
		json_object_object_add(
		        o, "message",
		        json_object_new_string(!rd ? "postgres and redis are down" : "postgres is down"));
	} else if (!rd) {
		json_object_object_add(o, "message",
		                       json_object_new_string("redis is down: rate limits are per process, "
		                                              "the analytics cache is skipped, tokens are "
		                                              "checked in postgres"));
	}
	json_object_object_add(o, "status",
	                       json_object_new_string(!pg ? "unavailable" :
	                                              rd  ? "ok" :
	                                                    "degraded"));
	json_object_object_add(o, "postgres", json_object_new_string(pg ? "ok" : "down"));
	json_object_object_add(o, "redis",
	                       json_object_new_string(off ? "not configured" :
	                                              rd  ? "ok" :
	                                                    "down"));
	resp_header(resp, "Cache-Control", "no-store");
	resp_json(resp, pg ? 200 : 503, o);
}

#ifdef MEDIAD_TEST_ROUTES
/* GET /_test/sleep?ms=N (at most 10 s): a slow request, to test that a stopping worker finishes
 * what it has in flight. */
void handle_test_sleep(struct http_request *req, struct http_response *resp)
{
	const char *ms = query_get(&req->query, "ms");
	long long v = ms ? strtoll(ms, NULL, 10) : 0;
	struct timespec t;
	struct json_object *o;

	if (v < 0 || v > 10000)
		v = 0;
	t.tv_sec = (time_t)(v / 1000);
	t.tv_nsec = (long)(v % 1000) * 1000000L;
	/* Restart after a signal: the point is to finish the request anyway. */
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
	o = json_object_new_object();
	if (o != NULL)
		json_object_object_add(o, "slept_ms", json_object_new_int64(v));
	resp_json(resp, 200, o);
}

/* POST /_test/echo {"name": "..."}: exercises the body reader and the JSON getters. */
void handle_test_echo(struct http_request *req, struct http_response *resp)
{
	struct json_object *body = http_json_body(req, resp), *o;
	struct verr e;
	const char *name;

	if (body == NULL)
		return;
	if (jget_string(body, "name", JGET_REQUIRED, 1, 100, 400, &name, &e) < 0) {
		resp_verr(resp, &e);
		json_object_put(body);
		return;
	}
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)req->body_read));
	}
	json_object_put(body);
	resp_json(resp, 200, o);
}
#endif
