/* analytics.c: POST /media/:id/view, GET /media/:id/analytics, POST /analytics,
 * GET /projects/:id/analytics. */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/authn.h"
#include "api/common.h"
#include "api/handlers.h"
#include "api/ratelimit.h"
#include "app.h"
#include "core/config.h"
#include "core/log.h"
#include "http/clientip.h"
#include "http/json_body.h"
#include "http/query.h"
#include "store/analytics.h"
#include "store/analytics_cache.h"
#include "store/media.h"
#include "store/projects.h"

#define VIEW_WINDOW_S 60

void handle_media_view(struct http_request *req, struct http_response *resp)
{
	char ip[64], lkey[CLIENTIP_KEY_SIZE], key[160], viewed_at[32];
	struct json_object *o, *v;
	int64_t id, owner = 0;
	enum merr err;

	if (!api_route_id(req, resp, "media", &id))
		return;
	/* A player that holds only the stream link may report a view; otherwise the owner's token. */
	if (query_get(&req->query, "sig") != NULL || query_get(&req->query, "expires") != NULL) {
		if (!stream_link_ok(req, resp, id))
			return;
	} else {
		if (!authn_require(req, resp))
			return;
		owner = req->user_id;
	}
	/* The view records the client's address; the limit counts an IPv6 client by its /64. */
	api_client_ip(req, ip, sizeof(ip));
	api_client_limit_key(req, lkey, sizeof(lkey));
	snprintf(key, sizeof(key), "mediad:rl:view:%lld:%s", (long long)id, lkey);
	if (!ratelimit_hit(req, resp, key, req->app->cfg->view_rate_limit, VIEW_WINDOW_S, true))
		return;
	/* The media (and for a token, its owner) is checked by the insert itself: one round trip. */
	err = analytics_view_insert(req->app->db, id, owner, ip, viewed_at);
	if (err == MERR_NOT_FOUND) {
		resp_not_found(resp, "media", id);
		return;
	}
	if (err != MERR_OK) {
		resp_store_error(resp, err, "view");
		return;
	}
	/* The view is committed; the cached answers are now stale (an outage of Redis is logged by
	 * kv, once, not here once per view). */
	analytics_cache_drop(req->app->kv, id);
	o = json_object_new_object();
	v = json_object_new_object();
	if (o != NULL && v != NULL) {
		json_object_object_add(v, "mediaId", json_object_new_int64(id));
		json_object_object_add(v, "ip", json_object_new_string(ip));
		json_object_object_add(v, "viewedAt", json_object_new_string(viewed_at));
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "view", v);
	} else {
		json_object_put(v);
	}
	resp_json(resp, 201, o);
}

/* A strict YYYY-MM-DD that names a real day. */
static bool day_ok(const char *s)
{
	struct tm tm;
	const char *end;
	time_t t;
	char back[16];

	if (s == NULL || strlen(s) != 10)
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return false;
	/* Round-trip through timegm: 2026-02-30 becomes March 2nd and is refused. */
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(back, sizeof(back), "%Y-%m-%d", &tm);
	return strcmp(back, s) == 0;
}

void handle_media_analytics(struct http_request *req, struct http_response *resp)
{
	const char *from = query_get(&req->query, "from"), *to = query_get(&req->query, "to");
	struct json_object *out = NULL;
	struct buf cached = BUF_INIT;
	char gen[KV_GEN_MAX];
	struct media m;
	int64_t id;
	enum merr err;

	if (!api_route_id(req, resp, "media", &id))
		return;
	if ((from != NULL && !day_ok(from)) || (to != NULL && !day_ok(to))) {
		resp_error(resp, MERR_BAD_REQUEST, from != NULL && !day_ok(from) ? "from" : "to",
		           "dates must be YYYY-MM-DD");
		return;
	}
	if (from != NULL && to != NULL && strcmp(from, to) > 0) {
		resp_error(resp, MERR_BAD_REQUEST, "from", "from must not be after to");
		return;
	}
	/* A hit for the media's owner needs no database at all; anyone else falls through to the real
	 * ownership check below and gets 404. Redis down is not an error here: PostgreSQL answers. */
	if (analytics_cache_get(req->app->kv, id, req->user_id, from, to, &cached, gen)) {
		resp_header(resp, "X-Cache", "hit");
		resp_body(resp, 200, &cached);
		return;
	}
	err = media_get(req->app->db, req->user_id, id, &m);
	if (err != MERR_OK) {
		resp_store_error_id(resp, err, "media", id);
		return;
	}
	err = analytics_media(req->app->db, id, from, to, &out);
	if (err != MERR_OK) {
		resp_store_error(resp, err, "analytics");
		return;
	}
	/* Under the generation read before the database was, so a view meanwhile is not hidden. */
	analytics_cache_put(req->app->kv, id, req->user_id, from, to, gen, out);
	resp_header(resp, "X-Cache", "miss");
	resp_json(resp, 200, out);
}

void handle_events_create(struct http_request *req, struct http_response *resp)
{
	static const char *const types[] = { "play", "click", "impression", NULL };
	struct json_object *body = http_json_body(req, resp), *ev = NULL, *o;
	const char *type;
	int64_t pid;
	struct verr e;
	enum merr err;
	int i;

	if (body == NULL)
		return;
	if (jget_int(body, "projectId", JGET_REQUIRED, 1, INT64_MAX - 1, &pid, &e) < 0 ||
	    jget_string(body, "eventType", JGET_REQUIRED, 1, 32, 64, &type, &e) < 0) {
		resp_verr(resp, &e);
		goto out;
	}
	for (i = 0; types[i] != NULL && strcmp(types[i], type) != 0; i++)
		;
	if (types[i] == NULL) {
		resp_error(resp, MERR_BAD_REQUEST, "eventType",
		           "eventType must be one of play, click, impression");
		goto out;
	}
	err = analytics_event_insert(req->app->db, req->user_id, pid, type, &ev);
	if (err == MERR_NOT_FOUND) {
		resp_error(resp, err, "projectId", "project %lld not found", (long long)pid);
		goto out;
	}
	if (err != MERR_OK) {
		resp_store_error(resp, err, "event");
		goto out;
	}
	o = json_object_new_object();
	if (o != NULL) {
		json_object_object_add(o, "message", json_object_new_string("Event recorded"));
		json_object_object_add(o, "event", ev);
	} else {
		json_object_put(ev);
	}
	resp_json(resp, 201, o);
out:
	json_object_put(body);
}

void handle_project_analytics(struct http_request *req, struct http_response *resp)
{
	struct json_object *out = NULL;
	int64_t pid;
	enum merr err;

	if (!api_route_id(req, resp, "project", &pid))
		return;
	err = projects_check_owner(req->app->db, req->user_id, pid);
	if (err == MERR_OK)
		err = analytics_project(req->app->db, pid, &out);
	if (err == MERR_NOT_FOUND)
		resp_not_found(resp, "project", pid);
	else if (err != MERR_OK)
		resp_store_error(resp, err, "analytics");
	else
		resp_json(resp, 200, out);
}
