/* webhooks.c: POST/GET /webhooks, GET/PATCH/DELETE /webhooks/:id, GET /webhooks/:id/deliveries,
 * GET /webhooks/:id/deliveries/:deliveryId (and its /attempts) and POST .../retry. Owner-scoped
 * throughout; media-hooks sends. */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "api/common.h"
#include "api/handlers.h"
#include "app.h"
#include "core/config.h"
#include "http/json_body.h"
#include "http/query.h"
#include "store/jobs.h"
#include "store/webhooks.h"
#include "util/netaddr.h"

/* Most entries "events" may hold (schema/009 checks the same); duplicates are refused anyway. */
#define EVENTS_MAX 16
/* Deliveries in one page: each shows up to WEBHOOK_ATTEMPT_LOG attempts (an error text of at most
 * 600 characters each) and one response body (the newest, at most 4 KiB), so a page holds at
 * most about 50 * (4 KiB + 21 * 600 characters), under 1 MiB of stored text. */
#define DELIVERIES_PAGE_MAX 50
/* The deepest offset into an endpoint's deliveries: what the capped count reaches. */
#define DELIVERIES_OFFSET_MAX WEBHOOK_DELIVERIES_COUNT_CAP
#define EVENT_NAMES "job.completed, job.failed, job.cancelled, media.ready, media.failed, media.deleted"

/*
 * A bracketed IPv6 host ("[::1]") or an IPv4 one, as libcurl hands it out, into ss; false when
 * host is a name. One final '.' is not part of it ("127.0.0.1." is 127.0.0.1 to a resolver), and
 * IPv4 is read as inet_aton reads it, as resolvers do: "127.1", "0x7f.1", "0177.0.0.1" and
 * "2130706433" are all 127.0.0.1 (libcurl writes most of these out itself, but not every version
 * and not with the final dot).
 */
static bool host_literal(const char *host, struct sockaddr_storage *ss)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)ss;
	char inner[INET6_ADDRSTRLEN], v4text[INET_ADDRSTRLEN + 16];
	size_t len = strlen(host);

	memset(ss, 0, sizeof(*ss));
	if (len > 1 && host[len - 1] == '.' && len - 1 < sizeof(v4text)) {
		memcpy(v4text, host, len - 1);
		v4text[len - 1] = '\0';
	} else {
		snprintf(v4text, sizeof(v4text), "%s", len < sizeof(v4text) ? host : "");
	}
	if (v4text[0] != '\0' && inet_aton(v4text, &v4->sin_addr) != 0) {
		v4->sin_family = AF_INET;
		return true;
	}
	if (len < 3 || host[0] != '[' || host[len - 1] != ']' || len - 2 >= sizeof(inner))
		return false;
	memcpy(inner, host + 1, len - 2);
	inner[len - 2] = '\0';
	if (inet_pton(AF_INET6, inner, &v6->sin6_addr) != 1)
		return false;
	v6->sin6_family = AF_INET6;
	return true;
}

/* "localhost" and names under it (RFC 6761), with or without the final dot: loopback by name. */
static bool host_is_localhost(const char *host)
{
	size_t len = strlen(host);

	if (len > 0 && host[len - 1] == '.')
		len--;
	return (len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	       (len > 10 && strncasecmp(host + len - 10, ".localhost", 10) == 0);
}

/*
 * Checks url, the client's, as a webhook URL, parsed by libcurl as media-hooks will parse it: http
 * or https, a host, no user name or password, no fragment, printable ASCII, at most
 * WEBHOOK_URL_MAX bytes. Unless allow_private, a host that is an IP address must be public
 * (netaddr_class) and "localhost" is refused; other names are checked at delivery, since what they
 * resolve to changes. libcurl's normalised form (the one stored) goes into norm. Returns
 * MERR_OK, or MERR_BAD_REQUEST or MERR_UNPROCESSABLE (a private address) with e filled.
 */
static enum merr url_check(const char *url, bool allow_private, char norm[WEBHOOK_URL_MAX + 1],
                           struct verr *e)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *out = NULL;
	struct sockaddr_storage ss;
	enum merr err = MERR_BAD_REQUEST;
	const char *why;
	CURLUcode rc;
	size_t i;

	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= ' ' || (unsigned char)url[i] >= 0x7f) {
			verr_set(e, "url",
			         "url must be printable ASCII without spaces (percent-encode the rest)");
			goto out;
		}
	if (strchr(url, '#') != NULL) {
		verr_set(e, "url", "url must not have a fragment (#...)");
		goto out;
	}
	if (h == NULL) {
		err = MERR_INTERNAL;
		verr_set(e, NULL, "out of memory");
		goto out;
	}
	rc = curl_url_set(h, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		verr_set(e, "url", "url is not a valid http or https URL: %s", curl_url_strerror(rc));
		goto out;
	}
	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		verr_set(e, "url", "url must be an http or https URL (got %.16s)", scheme ? scheme : "none");
		goto out;
	}
	if (curl_url_get(h, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
	    curl_url_get(h, CURLUPART_PASSWORD, &out, 0) != CURLUE_NO_PASSWORD) {
		verr_set(e, "url", "url must not carry a user name or password");
		goto out;
	}
	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		verr_set(e, "url", "url must name a host");
		goto out;
	}
	if (curl_url_get(h, CURLUPART_PORT, &port, 0) == CURLUE_OK && strcmp(port, "0") == 0) {
		verr_set(e, "url", "url's port must be from 1 to 65535");
		goto out;
	}
	if (!allow_private) {
		why = host_literal(host, &ss) ? netaddr_class((const struct sockaddr *)&ss) :
		      host_is_localhost(host) ? "loopback" :
		                                NULL;
		if (why != NULL) {
			err = MERR_UNPROCESSABLE;
			verr_set(e, "url",
			         "url's host %.64s is a %s address: webhooks may only reach public addresses "
			         "(webhook_allow_private is off)",
			         host, why);
			goto out;
		}
	}
	curl_free(out);
	out = NULL;
	if (curl_url_get(h, CURLUPART_URL, &out, 0) != CURLUE_OK || strlen(out) > WEBHOOK_URL_MAX) {
		verr_set(e, "url", "url must be at most %d bytes", WEBHOOK_URL_MAX);
		goto out;
	}
	snprintf(norm, WEBHOOK_URL_MAX + 1, "%s", out);
	err = MERR_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(out);
	curl_url_cleanup(h);
	return err;
}

/*
 * Reads "events": an array of 1 to EVENTS_MAX known event type names, none twice, into *mask.
 * Returns 1, 0 when absent and not required, or -1 with e filled.
 */
static int events_get(struct json_object *body, unsigned flags, unsigned *mask, struct verr *e)
{
	struct json_object *a;
	size_t n, i;

	*mask = 0;
	if (!json_object_object_get_ex(body, "events", &a)) {
		if (flags & JGET_REQUIRED) {
			verr_set(e, "events", "events is required: a list of %s", EVENT_NAMES);
			return -1;
		}
		return 0;
	}
	if (!json_object_is_type(a, json_type_array)) {
		verr_set(e, "events", "events must be an array of event names");
		return -1;
	}
	n = json_object_array_length(a);
	if (n < 1 || n > EVENTS_MAX) {
		verr_set(e, "events", "events must list from 1 to %d event names", EVENTS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		const char *s;
		int k;

		if (!json_object_is_type(v, json_type_string)) {
			verr_set(e, "events", "events[%zu] must be a string", i);
			return -1;
		}
		s = json_object_get_string(v);
		k = webhook_event_index(s, (size_t)json_object_get_string_len(v));
		if (k < 0) {
			verr_set(e, "events", "unknown event \"%.40s\"; use %s", s, EVENT_NAMES);
			return -1;
		}
		if (*mask & (1u << k)) {
			verr_set(e, "events", "event %s is listed twice", webhook_event_names[k]);
			return -1;
		}
		*mask |= 1u << k;
	}
	return 1;
}

/* Reads "url" (required or not, as flags say) and checks it (url_check) into norm. Returns 1, 0
 * when absent and optional, or -1 with the answer set. */
static int url_get(struct http_request *req, struct http_response *resp, struct json_object *body,
                   unsigned flags, char norm[WEBHOOK_URL_MAX + 1])
{
	const char *url;
	struct verr e;
	enum merr err;
	int got = jget_string(body, "url", flags, 1, WEBHOOK_URL_MAX, WEBHOOK_URL_MAX, &url, &e);

	if (got <= 0) {
		if (got < 0)
			resp_verr(resp, &e);
		return got;
	}
	err = url_check(url, req->app->cfg->webhook_allow_private, norm, &e);
	if (err != MERR_OK) {
		resp_error(resp, err, e.field, "%s", e.message);
		return -1;
	}
	return 1;
}

/* The :name route parameter, which must be a UUID; anything else is simply not found. */
static const char *uuid_param(struct http_request *req, struct http_response *resp, const char *name,
                              const char *what)
{
	const char *id = http_route_param(req, name);

	if (!job_id_ok(id)) {
		resp_error(resp, MERR_NOT_FOUND, NULL, "%s %.40s not found", what, id ? id : "");
		return NULL;
	}
	return id;
}

/* Answers a failed store call about endpoint id. */
static void webhook_error(struct http_response *resp, enum merr err, const char *id)
{
	if (err == MERR_NOT_FOUND)
		resp_error(resp, err, NULL, "webhook %s not found", id);
	else
		resp_store_error(resp, err, "webhook");
}

/* The :id and :deliveryId parameters of a delivery's route; false with a 404 answered when either
 * is not a UUID. */
static bool delivery_route(struct http_request *req, struct http_response *resp, const char **id,
                           const char **did)
{
	*id = uuid_param(req, resp, "id", "webhook");
	*did = *id != NULL ? uuid_param(req, resp, "deliveryId", "delivery") : NULL;
	return *did != NULL;
}

/* Answers a failed store call about delivery did of endpoint id. */
static void delivery_error(struct http_response *resp, enum merr err, const char *id, const char *did)
{
	if (err == MERR_NOT_FOUND)
		resp_error(resp, err, NULL, "delivery %s of webhook %s not found", did, id);
	else
		resp_store_error(resp, err, "delivery");
}

void handle_webhooks_create(struct http_request *req, struct http_response *resp)
{
	static const char *const allowed[] = { "url", "events", NULL };
	struct json_object *body = http_json_body(req, resp), *out = NULL, *shown;
	char url[WEBHOOK_URL_MAX + 1], secret[WEBHOOK_SECRET_SIZE];
	unsigned events;
	struct verr e;
	enum merr err;

	if (body == NULL)
		return;
	if (jcheck_keys(body, allowed, &e) < 0 || events_get(body, JGET_REQUIRED, &events, &e) < 0) {
		resp_verr(resp, &e);
		goto out;
	}
	if (url_get(req, resp, body, JGET_REQUIRED, url) < 0)
		goto out;
	webhook_secret_new(secret);
	err = webhooks_create(req->app->db, req->user_id, url, events, secret, &out);
	if (err == MERR_CONFLICT) {
		resp_error(
		        resp, err, NULL,
		        "you already have %d webhook endpoints, the most one user may have; delete one first",
		        WEBHOOKS_PER_USER);
		goto out;
	}
	if (err != MERR_OK) {
		resp_store_error(resp, err, "webhook");
		goto out;
	}
	/* The only answer that shows the secret. */
	shown = json_object_new_string(secret);
	if (shown == NULL || json_object_object_add(out, "secret", shown) != 0) {
		json_object_put(shown);
		json_object_put(out);
		resp_error(resp, MERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	resp_header(resp, "Location", "%s/webhooks/%s", req->base,
	            json_object_get_string(json_object_object_get(out, "id")));
	resp_header(resp, "Cache-Control", "no-store");
	resp_json(resp, 201, out);
out:
	sodium_memzero(secret, sizeof(secret));
	json_object_put(body);
}

void handle_webhooks_list(struct http_request *req, struct http_response *resp)
{
	struct json_object *items = NULL;
	int64_t limit, offset, total = 0;
	enum merr err;

	if (!api_pagination(req, resp, &limit, &offset))
		return;
	err = webhooks_list(req->app->db, req->user_id, limit, offset, &items, &total);
	if (err != MERR_OK) {
		resp_store_error(resp, err, "webhooks");
		return;
	}
	api_list_response(resp, items, total, limit, offset);
}

void handle_webhooks_get(struct http_request *req, struct http_response *resp)
{
	struct json_object *out = NULL;
	const char *id = uuid_param(req, resp, "id", "webhook");
	enum merr err;

	if (id == NULL)
		return;
	err = webhooks_get(req->app->db, req->user_id, id, &out);
	if (err != MERR_OK)
		webhook_error(resp, err, id);
	else
		resp_json(resp, 200, out);
}

void handle_webhooks_update(struct http_request *req, struct http_response *resp)
{
	static const char *const allowed[] = { "url", "events", "enabled", NULL };
	const char *id = uuid_param(req, resp, "id", "webhook");
	struct json_object *body, *out = NULL;
	char url[WEBHOOK_URL_MAX + 1];
	int has_url, has_events = 0, has_enabled = 0;
	unsigned events = 0;
	bool enabled = false;
	struct verr e;
	enum merr err;

	if (id == NULL)
		return;
	body = http_json_body(req, resp);
	if (body == NULL)
		return;
	if (jcheck_keys(body, allowed, &e) < 0 || (has_events = events_get(body, 0, &events, &e)) < 0 ||
	    (has_enabled = jget_bool(body, "enabled", JGET_OPTIONAL, &enabled, &e)) < 0) {
		resp_verr(resp, &e);
		goto out;
	}
	has_url = url_get(req, resp, body, JGET_OPTIONAL, url);
	if (has_url < 0)
		goto out;
	if (has_url == 0 && has_events == 0 && has_enabled == 0) {
		resp_error(resp, MERR_BAD_REQUEST, NULL,
		           "nothing to change: send url, events and/or enabled");
		goto out;
	}
	err = webhooks_update(req->app->db, req->user_id, id, has_url ? url : NULL, events,
	                      has_enabled ? enabled : -1, &out);
	if (err != MERR_OK)
		webhook_error(resp, err, id);
	else
		resp_json(resp, 200, out);
out:
	json_object_put(body);
}

void handle_webhooks_delete(struct http_request *req, struct http_response *resp)
{
	const char *id = uuid_param(req, resp, "id", "webhook");
	enum merr err;

	if (id == NULL)
		return;
	err = webhooks_delete(req->app->db, req->user_id, id);
	if (err != MERR_OK)
		webhook_error(resp, err, id);
	else
		resp_status(resp, 204);
}

void handle_webhook_deliveries_list(struct http_request *req, struct http_response *resp)
{
	static const char *const states[] = { "pending", "succeeded", "failed" };
	const char *id = uuid_param(req, resp, "id", "webhook"), *state;
	struct json_object *items = NULL;
	int64_t limit, offset, total = 0;
	bool capped = false;
	enum merr err;
	size_t i;

	if (id == NULL || !api_pagination(req, resp, &limit, &offset))
		return;
	if (limit > DELIVERIES_PAGE_MAX) {
		resp_error(resp, MERR_BAD_REQUEST, "limit",
		           "limit must be an integer from 1 to %d for deliveries", DELIVERIES_PAGE_MAX);
		return;
	}
	if (offset > DELIVERIES_OFFSET_MAX) {
		resp_error(resp, MERR_BAD_REQUEST, "offset",
		           "offset must be an integer from 0 to %d for deliveries (filter by state to reach "
		           "others)",
		           DELIVERIES_OFFSET_MAX);
		return;
	}
	state = query_get(&req->query, "state");
	for (i = 0; state != NULL && i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(state, states[i]) == 0)
			break;
	if (state != NULL && i == sizeof(states) / sizeof(states[0])) {
		resp_error(resp, MERR_BAD_REQUEST, "state", "state must be pending, succeeded or failed");
		return;
	}
	err = webhook_deliveries_list(req->app->db, req->user_id, id, state, limit, offset, &items, &total,
	                              &capped);
	if (err != MERR_OK) {
		webhook_error(resp, err, id);
		return;
	}
	resp_header(resp, "Cache-Control", "no-store");
	api_list_response_capped(resp, items, total, capped, limit, offset);
}

void handle_webhook_delivery_get(struct http_request *req, struct http_response *resp)
{
	struct json_object *out = NULL;
	const char *id, *did;
	enum merr err;

	if (!delivery_route(req, resp, &id, &did))
		return;
	err = webhook_deliveries_get(req->app->db, req->user_id, id, did, &out);
	if (err != MERR_OK) {
		delivery_error(resp, err, id, did);
		return;
	}
	resp_header(resp, "Cache-Control", "no-store");
	resp_json(resp, 200, out);
}

/* Every attempt of a delivery, by pages of the common size: each shows its response body (at most
 * 4 KiB) and error (at most 600 characters), so a page of 200 holds under 1.3 MiB of stored text. */
void handle_webhook_delivery_attempts(struct http_request *req, struct http_response *resp)
{
	struct json_object *items = NULL;
	int64_t limit, offset, total = 0;
	const char *id, *did;
	enum merr err;

	if (!delivery_route(req, resp, &id, &did) || !api_pagination(req, resp, &limit, &offset))
		return;
	err = webhook_attempts_list(req->app->db, req->user_id, id, did, limit, offset, &items, &total);
	if (err != MERR_OK) {
		delivery_error(resp, err, id, did);
		return;
	}
	resp_header(resp, "Cache-Control", "no-store");
	api_list_response(resp, items, total, limit, offset);
}

void handle_webhook_delivery_retry(struct http_request *req, struct http_response *resp)
{
	struct json_object *out = NULL;
	enum webhook_retry_refusal why;
	const char *id, *did;
	enum merr err;

	if (!delivery_route(req, resp, &id, &did))
		return;
	err = webhook_deliveries_retry(req->app->db, req->user_id, id, did, &out, &why);
	if (err == MERR_NOT_FOUND && why != WEBHOOK_RETRY_NO_WEBHOOK)
		delivery_error(resp, err, id, did);
	else if (err == MERR_CONFLICT && why == WEBHOOK_RETRY_DELIVERED)
		resp_error(resp, err, NULL, "delivery %s was already delivered: its event is not sent again",
		           did);
	else if (err == MERR_CONFLICT && why == WEBHOOK_RETRY_SENDING)
		resp_error(
		        resp, err, NULL,
		        "delivery %s is being sent now: see its outcome in the deliveries list, then retry "
		        "if it failed",
		        did);
	else if (err == MERR_CONFLICT)
		resp_error(resp, err, NULL,
		           "webhook %s is disabled: enable the endpoint first (PATCH {\"enabled\": true})",
		           id);
	else if (err != MERR_OK)
		webhook_error(resp, err, id);
	else
		resp_json(resp, 202, out);
}
