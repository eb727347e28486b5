/* health.c: GET /healthz, and the test-only echo route. */
#include "config.h"

#include <json-c/json.h>

#include "api/handlers.h"
#include "app.h"
#include "core/config.h"
#include "http/json_body.h"
#include "store/db.h"
#include "store/kv.h"

void handle_healthz(struct http_request *req, struct http_response *resp)
{
	bool pg = db_ping(req->app->db) == MERR_OK;
	bool rd = kv_ping(req->app->kv) == MERR_OK;
	struct json_object *o = json_object_new_object();

	if (o == NULL) {
		resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
		return;
	}
	if (!(pg && rd)) {
		json_object_object_add(o, "error", json_object_new_string("unavailable"));
		json_object_object_add(o, "message",
		                       json_object_new_string(!pg && !rd ? "postgres and redis are down"
		                                              : !pg      ? "postgres is down"
		                                                         : "redis is down"));
	}
	json_object_object_add(o, "status", json_object_new_string(pg && rd ? "ok" : "unavailable"));
	json_object_object_add(o, "postgres", json_object_new_string(pg ? "ok" : "down"));
	json_object_object_add(o, "redis", json_object_new_string(rd ? "ok" : "down"));
	resp_header(resp, "Cache-Control", "no-store");
	resp_json(resp, pg && rd ? 200 : 503, o);
}

#ifdef MEDIAD_TEST_ROUTES
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
