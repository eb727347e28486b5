/* test_webhooks.c: the webhook API (endpoints, their deliveries, retries) and the outbox the
 * triggers of schema/009 write: one delivery per subscribed, enabled endpoint for each job and
 * media change, through the real media-spawner (the fake ffmpeg, or the real one for a poster),
 * none for a rolled-back change; and mediactl gc of old deliveries. media-hooks is not run here:
 * deliveries stay as the triggers wrote them, and attempts are written by hand where needed. */
#include "config.h"

#include <CUnit/Basic.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>

#include "core/config.h"
#include "hooks/outbox.h"
#include "hooks/payload.h"
#include "itest.h"
#include "rtest.h"
#include "store/db.h"
#include "util/buf.h"

/* A hostname: accepted at creation whatever webhook_allow_private says, never resolved here. */
#define HOOK_URL "https://hooks.example.com/mediad"
#define SECRET_RE "^whsec_[A-Za-z0-9_-]{43}$"
/* Room for "/deliveries/<uuid>/retry". */
#define RETRY_PATH_SIZE 128
/* More than the 16 endpoints a user may have. */
#define WEBHOOKS_MAX_TEST 32

/* This program's own connection: statements of several parameters, and transactions. */
static PGconn *pg;

/* ---- helpers ------------------------------------------------------------------------------------ */

/* The first cell of q with up to three text parameters (NULL-terminated list) as a number; -1 on
 * an error or no row. */
static long long sql_num(const char *q, const char *p1, const char *p2, const char *p3)
{
	const char *params[3] = { p1, p2, p3 };
	int n = p1 == NULL ? 0 : p2 == NULL ? 1 : p3 == NULL ? 2 : 3;
	PGresult *res = PQexecParams(pg, q, n, NULL, params, NULL, NULL, 0);
	long long v = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "test_webhooks: %s: %s", q, PQerrorMessage(pg));
	PQclear(res);
	return v;
}

/* Runs q (up to three parameters) for its effect; false on an error (printed). */
static bool sql_run(const char *q, const char *p1, const char *p2, const char *p3)
{
	const char *params[3] = { p1, p2, p3 };
	int n = p1 == NULL ? 0 : p2 == NULL ? 1 : p3 == NULL ? 2 : 3;
	PGresult *res = PQexecParams(pg, q, n, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "test_webhooks: %s: %s", q, PQerrorMessage(pg));
	PQclear(res);
	return ok;
}

/* POST /webhooks as tok with body; on 201 the id goes into id. Returns the status. */
static long hook_create_body(const char *tok, const char *body, char id[RTEST_UUID_LEN + 1],
                             struct itest_resp *r)
{
	CU_ASSERT_FATAL(itest_json("POST", "/webhooks", tok, body, r) == 0);
	if (r->status == 201 && id != NULL)
		snprintf(id, RTEST_UUID_LEN + 1, "%s", itest_jstr(r, "id") ? itest_jstr(r, "id") : "");
	return r->status;
}

/* An endpoint of tok's user at HOOK_URL for events (a JSON array); fatal unless 201. */
static void hook_new(const char *tok, const char *events, char id[RTEST_UUID_LEN + 1])
{
	struct itest_resp r;
	char body[512];

	snprintf(body, sizeof(body), "{\"url\":\"" HOOK_URL "\",\"events\":%s}", events);
	if (hook_create_body(tok, body, id, &r) != 201)
		fprintf(stderr, "test_webhooks: POST /webhooks: %ld %s\n", r.status, r.body ? r.body : "");
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	itest_resp_free(&r);
}

/* method /webhooks/id<rest> as tok with body (may be NULL). Returns the status. */
static long hook_call(const char *method, const char *tok, const char *id, const char *rest, const char *body,
                      struct itest_resp *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/webhooks/%s%s", id, rest);
	CU_ASSERT_FATAL(itest_json(method, path, tok, body, r) == 0);
	return r->status;
}

/* Disables endpoint id through the API. */
static void hook_disable(const char *id)
{
	struct itest_resp r;

	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_a, id, "", "{\"enabled\":false}", &r), 200);
	itest_resp_free(&r);
}

/* Deletes every endpoint of tok's user through the API, so each test starts with none. */
static void hooks_clear(const char *tok)
{
	struct itest_resp r;
	struct json_object *items;
	char ids[WEBHOOKS_MAX_TEST][RTEST_UUID_LEN + 1];
	int n = 0;

	CU_ASSERT_FATAL(itest_json("GET", "/webhooks?limit=200", tok, NULL, &r) == 0);
	items = itest_member(r.json, "items");
	for (size_t i = 0; items != NULL && i < json_object_array_length(items) && n < WEBHOOKS_MAX_TEST; i++)
		snprintf(ids[n++], sizeof(ids[0]), "%s",
		         itest_member_str(json_object_array_get_idx(items, i), "id"));
	itest_resp_free(&r);
	for (int i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(hook_call("DELETE", tok, ids[i], "", NULL, &r), 204);
		itest_resp_free(&r);
	}
}

/* Deliveries of endpoint hook whose event is of type and about subject id (its "id" member). */
static long long deliveries_of(const char *hook, const char *type, const char *subject)
{
	return sql_num("SELECT count(*) FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id "
	               "WHERE d.webhook_id = $1::uuid AND e.type = $2 AND e.subject->>'id' = $3",
	               hook, type, subject);
}

/* Events of type about subject id, whatever the endpoints. */
static long long events_of(const char *type, const char *subject)
{
	return sql_num("SELECT count(*) FROM webhook_events WHERE type = $1 AND subject->>'id' = $2", type,
	               subject, NULL);
}

/* A waiting job of user A on a project of its own (no spawner runs it). */
static void waiting_job(char uuid[RTEST_UUID_LEN + 1])
{
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);

	rtest_enqueue_ok(pid, NULL, uuid);
}

/* DELETE /jobs/uuid as user A: a waiting job is cancelled at once. */
static void cancel_job(const char *uuid)
{
	struct itest_resp r;
	char path[96];

	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	CU_ASSERT_FATAL(itest_json("DELETE", path, rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 202);
	itest_resp_free(&r);
	rtest_expect_job(uuid, "cancelled", 5000, &r);
	itest_resp_free(&r);
}

/* The first delivery id of endpoint hook (newest first) into out. */
static void first_delivery(const char *hook, char out[RTEST_UUID_LEN + 1])
{
	struct itest_resp r;
	struct json_object *items;

	CU_ASSERT_EQUAL_FATAL(hook_call("GET", rt.tok_a, hook, "/deliveries", NULL, &r), 200);
	items = itest_member(r.json, "items");
	CU_ASSERT_FATAL(items != NULL && json_object_array_length(items) > 0);
	snprintf(out, RTEST_UUID_LEN + 1, "%s", itest_member_str(json_object_array_get_idx(items, 0), "id"));
	itest_resp_free(&r);
}

/* An endpoint of user A for job.cancelled (id) with one delivery (did) of a job it cancels (uuid);
 * rest gets the delivery's retry path below the endpoint. */
static void hook_with_delivery(char id[RTEST_UUID_LEN + 1], char uuid[RTEST_UUID_LEN + 1],
                               char did[RTEST_UUID_LEN + 1], char rest[RETRY_PATH_SIZE])
{
	hook_new(rt.tok_a, "[\"job.cancelled\"]", id);
	waiting_job(uuid);
	cancel_job(uuid);
	first_delivery(id, did);
	snprintf(rest, RETRY_PATH_SIZE, "/deliveries/%s/retry", did);
}

/* Asserts that POST /webhooks/id<rest> (a retry) is 409 conflict, its message saying why. */
static void retry_refused(const char *id, const char *rest, const char *why)
{
	struct itest_resp r;

	CU_ASSERT_EQUAL(hook_call("POST", rt.tok_a, id, rest, "", &r), 409);
	itest_assert_error(&r, 409, "conflict");
	CU_ASSERT_PTR_NOT_NULL(strstr(itest_jstr(&r, "message") ? itest_jstr(&r, "message") : "", why));
	itest_resp_free(&r);
}

/* Asserts that the endpoint in r lists exactly the events first and second, in that order. */
static void assert_events(const struct itest_resp *r, const char *first, const char *second)
{
	struct json_object *ev = itest_member(r->json, "events");

	CU_ASSERT_FATAL(ev != NULL && json_object_array_length(ev) == 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(ev, 0)), first);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(ev, 1)), second);
}

/* ---- the API ------------------------------------------------------------------------------------ */

static void test_create_answers_201_and_shows_the_secret_once(void)
{
	struct itest_resp r;
	char id[RTEST_UUID_LEN + 1], secret[64], loc[128], want[160];
	struct json_object *items;

	CU_ASSERT_EQUAL_FATAL(hook_create_body(rt.tok_a,
	                                       "{\"url\":\"HTTPS://Hooks.Example.com/mediad?x=1\",\"events\":"
	                                       "[\"job.completed\",\"media.ready\"]}",
	                                       id, &r),
	                      201);
	CU_ASSERT_TRUE(itest_matches(id, ITEST_UUID_RE));
	/* libcurl's normal form is what is stored and shown */
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "url"), "https://Hooks.Example.com/mediad?x=1");
	assert_events(&r, "job.completed", "media.ready");
	CU_ASSERT_TRUE(json_object_get_boolean(itest_member(r.json, "enabled")));
	CU_ASSERT_EQUAL(itest_member_int(r.json, "consecutiveFailures"), 0);
	CU_ASSERT_TRUE(itest_member_null(r.json, "disabledAt"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "disabledReason"));
	CU_ASSERT_TRUE(itest_parse_rfc3339_utc(itest_jstr(&r, "createdAt")) > 0);
	CU_ASSERT_TRUE(itest_parse_rfc3339_utc(itest_jstr(&r, "updatedAt")) > 0);
	CU_ASSERT_TRUE(itest_matches(itest_jstr(&r, "secret"), SECRET_RE));
	snprintf(secret, sizeof(secret), "%s", itest_jstr(&r, "secret") ? itest_jstr(&r, "secret") : "");
	snprintf(want, sizeof(want), "/webhooks/%s", id);
	CU_ASSERT_TRUE(itest_header(&r, "Location", loc, sizeof(loc)) && strcmp(loc, want) == 0);
	itest_resp_free(&r);
	/* The stored key is the one shown. */
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM webhooks WHERE id = $1::uuid AND secret = $2", id,
	                        secret, NULL),
	                1);
	/* Never again. */
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, "", NULL, &r), 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "id"), id);
	CU_ASSERT_FALSE(json_object_object_get_ex(r.json, "secret", NULL));
	CU_ASSERT_PTR_NULL(strstr(r.body, secret));
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", "/webhooks", rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	items = itest_member(r.json, "items");
	CU_ASSERT_FATAL(items != NULL && json_object_array_length(items) == 1);
	CU_ASSERT_FALSE(json_object_object_get_ex(json_object_array_get_idx(items, 0), "secret", NULL));
	CU_ASSERT_PTR_NULL(strstr(r.body, secret));
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 1);
	itest_resp_free(&r);
	/* Two endpoints never share a secret. */
	hook_new(rt.tok_a, "[\"job.failed\"]", id);
	CU_ASSERT_EQUAL(sql_num("SELECT count(DISTINCT secret) FROM webhooks WHERE user_id = "
	                        "(SELECT user_id FROM webhooks WHERE id = $1::uuid)",
	                        id, NULL, NULL),
	                2);
	hooks_clear(rt.tok_a);
}

static void test_list_is_paginated_newest_first(void)
{
	char ids[3][RTEST_UUID_LEN + 1];
	struct itest_resp r;
	struct json_object *items;

	for (int i = 0; i < 3; i++)
		hook_new(rt.tok_a, "[\"job.failed\"]", ids[i]);
	CU_ASSERT_FATAL(itest_json("GET", "/webhooks?limit=2&offset=0", rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 3);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "limit"), 2);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "offset"), 0);
	items = itest_member(r.json, "items");
	CU_ASSERT_FATAL(items != NULL && json_object_array_length(items) == 2);
	CU_ASSERT_STRING_EQUAL(itest_member_str(json_object_array_get_idx(items, 0), "id"), ids[2]);
	CU_ASSERT_STRING_EQUAL(itest_member_str(json_object_array_get_idx(items, 1), "id"), ids[1]);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", "/webhooks?limit=2&offset=2", rt.tok_a, NULL, &r) == 0);
	items = itest_member(r.json, "items");
	CU_ASSERT_FATAL(items != NULL && json_object_array_length(items) == 1);
	CU_ASSERT_STRING_EQUAL(itest_member_str(json_object_array_get_idx(items, 0), "id"), ids[0]);
	itest_resp_free(&r);
	/* Another user sees none of them. */
	CU_ASSERT_FATAL(itest_json("GET", "/webhooks", rt.tok_b, NULL, &r) == 0);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 0);
	itest_resp_free(&r);
	hooks_clear(rt.tok_a);
}

static void test_the_17th_endpoint_is_409_and_not_written(void)
{
	char id[RTEST_UUID_LEN + 1];
	struct itest_resp r;

	for (int i = 0; i < 16; i++)
		hook_new(rt.tok_a, "[\"media.deleted\"]", id);
	CU_ASSERT_EQUAL(hook_create_body(rt.tok_a, "{\"url\":\"" HOOK_URL "\",\"events\":[\"job.failed\"]}",
	                                 NULL, &r),
	                409);
	itest_assert_error(&r, 409, "conflict");
	CU_ASSERT_PTR_NOT_NULL(strstr(itest_jstr(&r, "message") ? itest_jstr(&r, "message") : "", "16"));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM webhooks WHERE user_id = "
	                        "(SELECT user_id FROM webhooks WHERE id = $1::uuid) AND deleted_at IS NULL",
	                        id, NULL, NULL),
	                16);
	/* Another user has room of its own. */
	hook_new(rt.tok_b, "[\"job.failed\"]", id);
	hooks_clear(rt.tok_b);
	hooks_clear(rt.tok_a);
}

static void test_bad_input_is_refused_and_writes_nothing(void)
{
	static const struct {
		const char *body;
		long status;
		const char *code;
	} bad[] = {
		{ "{\"url\":\"ftp://hooks.example.com/\",\"events\":[\"job.failed\"]}", 400, "bad_request" },
		{ "{\"url\":\"https://u:p@hooks.example.com/\",\"events\":[\"job.failed\"]}", 400,
		  "bad_request" },
		{ "{\"url\":\"https://hooks.example.com/#x\",\"events\":[\"job.failed\"]}", 400,
		  "bad_request" },
		{ "{\"url\":\"" HOOK_URL "\",\"events\":[]}", 400, "bad_request" },
		{ "{\"url\":\"" HOOK_URL "\",\"events\":[\"job.failed\",\"job.failed\"]}", 400,
		  "bad_request" },
		{ "{\"url\":\"" HOOK_URL "\",\"events\":[\"render.done\"]}", 400, "bad_request" },
		{ "{\"url\":\"" HOOK_URL "\",\"events\":[\"job.failed\"],\"enabled\":false}", 400,
		  "bad_request" },
	};
	char body[2300], path[2100];
	struct itest_resp r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(hook_create_body(rt.tok_a, bad[i].body, NULL, &r), bad[i].status);
		itest_assert_error(&r, bad[i].status, bad[i].code);
		itest_resp_free(&r);
	}
	/* 2048 bytes of URL pass the cap; 2049 do not. */
	memset(path, 'a', sizeof(path));
	path[2048 - strlen("https://hooks.example.com/")] = '\0';
	snprintf(body, sizeof(body), "{\"url\":\"https://hooks.example.com/%s\",\"events\":[\"job.failed\"]}",
	         path);
	CU_ASSERT_EQUAL(hook_create_body(rt.tok_a, body, NULL, &r), 201);
	itest_resp_free(&r);
	hooks_clear(rt.tok_a);
	snprintf(body, sizeof(body),
	         "{\"url\":\"https://hooks.example.com/a%s\",\"events\":[\"job.failed\"]}", path);
	CU_ASSERT_EQUAL(hook_create_body(rt.tok_a, body, NULL, &r), 400);
	itest_assert_error(&r, 400, "bad_request");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", "/webhooks", rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 0);
	itest_resp_free(&r);
}

/* Whether mediad runs with webhook_allow_private on (HARNESS_EXTRA_CONFIG): read by mediad's own
 * loader from the same file and environment, so any spelling of the setting counts. */
static bool private_allowed(void)
{
	struct config c;
	char err[256];
	bool on;

	if (config_load(&c, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "test_webhooks: reading mediad's configuration: %s\n", err);
		CU_FAIL_FATAL("mediad's configuration cannot be read");
	}
	on = c.webhook_allow_private;
	config_free(&c);
	return on;
}

static void test_a_private_address_is_422_unless_allowed(void)
{
	static const char *const urls[] = {
		"http://127.0.0.1:9/hook",
		"http://10.0.0.7/",
		"http://172.16.0.1/",
		"http://192.168.1.1/",
		"http://169.254.169.254/",
		"http://100.64.0.1/",
		"http://0.0.0.0/",
		"http://[::1]/",
		"http://[fd00::1]/",
		"http://[fe80::1]/",
		"http://[::ffff:127.0.0.1]/",
		"http://localhost:8080/",
		/* 127.0.0.1 in every spelling a resolver reads */
		"http://127.0.0.1./",
		"http://2130706433/",
		"http://0x7f.1/",
		"http://0177.0.0.1/",
		"http://127.1/",
		"http://0x7f.1./",
		"http://[::ffff:7f00:1]/",
		"http://[::127.0.0.1]/",
		"http://[64:ff9b::7f00:1]/",
		"http://[2002:7f00:1::]/",
		"http://LOCALHOST./",
		"http://a.localhost/",
		"http://169.254.169.254./latest/meta-data/",
	};
	bool allowed = private_allowed();
	char body[256], id[RTEST_UUID_LEN + 1];
	struct itest_resp r;
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(body, sizeof(body), "{\"url\":\"%s\",\"events\":[\"job.failed\"]}", urls[i]);
		if (allowed) {
			/* one at a time: more than the 16 one user may have */
			CU_ASSERT_EQUAL(hook_create_body(rt.tok_a, body, id, &r), 201);
			itest_resp_free(&r);
			CU_ASSERT_EQUAL(hook_call("DELETE", rt.tok_a, id, "", NULL, &r), 204);
		} else {
			if (hook_create_body(rt.tok_a, body, id, &r) != 422)
				fprintf(stderr, "test_webhooks: %s: %ld, not 422\n", urls[i], r.status);
			itest_assert_error(&r, 422, "unprocessable_entity");
			CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "field"), "url");
		}
		itest_resp_free(&r);
	}
	/* A public address and a hostname are taken either way; PATCH checks the same. */
	hook_new(rt.tok_a, "[\"job.failed\"]", id);
	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_a, id, "", "{\"url\":\"http://93.184.216.34/hook\"}", &r),
	                200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "url"), "http://93.184.216.34/hook");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_a, id, "", "{\"url\":\"http://[::1]:8080/\"}", &r),
	                allowed ? 200 : 422);
	itest_resp_free(&r);
	hooks_clear(rt.tok_a);
}

static void test_patch_changes_what_is_given_and_enabling_starts_afresh(void)
{
	char id[RTEST_UUID_LEN + 1], updated[40];
	struct itest_resp r;

	hook_new(rt.tok_a, "[\"job.failed\"]", id);
	CU_ASSERT_EQUAL(
	        hook_call(
	                "PATCH", rt.tok_a, id, "",
	                "{\"url\":\"https://other.example.com/h\",\"events\":[\"media.deleted\",\"job.cancelled\"]}",
	                &r),
	        200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "url"), "https://other.example.com/h");
	/* stored in the order of the event list, whatever the order sent */
	assert_events(&r, "job.cancelled", "media.deleted");
	CU_ASSERT_TRUE(json_object_get_boolean(itest_member(r.json, "enabled")));
	snprintf(updated, sizeof(updated), "%s", itest_jstr(&r, "updatedAt"));
	itest_resp_free(&r);
	/* Refused changes change nothing. */
	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_a, id, "",
	                          "{\"url\":\"https://x.example.com/\",\"events\":[\"no\"]}", &r),
	                400);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_a, id, "", "{}", &r), 400);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, "", NULL, &r), 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "url"), "https://other.example.com/h");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "updatedAt"), updated);
	itest_resp_free(&r);
	/* Disabled by its owner. */
	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_a, id, "", "{\"enabled\":false}", &r), 200);
	CU_ASSERT_FALSE(json_object_get_boolean(itest_member(r.json, "enabled")));
	CU_ASSERT_TRUE(itest_parse_rfc3339_utc(itest_jstr(&r, "disabledAt")) > 0);
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "disabledReason"));
	itest_resp_free(&r);
	/* As media-hooks disables one after failures in a row. */
	CU_ASSERT(sql_run(
	        "UPDATE webhooks SET consecutive_failures = 8, disabled_reason = 'failed 8 times in a row' "
	        "WHERE id = $1::uuid",
	        id, NULL, NULL));
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, "", NULL, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "consecutiveFailures"), 8);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "disabledReason"), "failed 8 times in a row");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_a, id, "", "{\"enabled\":true}", &r), 200);
	CU_ASSERT_TRUE(json_object_get_boolean(itest_member(r.json, "enabled")));
	CU_ASSERT_EQUAL(itest_member_int(r.json, "consecutiveFailures"), 0);
	CU_ASSERT_TRUE(itest_member_null(r.json, "disabledAt"));
	CU_ASSERT_TRUE(itest_member_null(r.json, "disabledReason"));
	itest_resp_free(&r);
	hooks_clear(rt.tok_a);
}

static void test_another_users_endpoint_and_delivery_are_404(void)
{
	char id[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], did[RTEST_UUID_LEN + 1], rest[128];
	struct itest_resp r;

	hook_with_delivery(id, uuid, did, rest);
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_b, id, "", NULL, &r), 404);
	itest_assert_error(&r, 404, "not_found");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_b, id, "", "{\"enabled\":false}", &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_b, id, "/deliveries", NULL, &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("POST", rt.tok_b, id, rest, "", &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("DELETE", rt.tok_b, id, "", NULL, &r), 404);
	itest_resp_free(&r);
	/* Unknown and malformed ids */
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, "f84a2c4c-1a23-4e98-b3d5-04c97e2c1f10", "", NULL, &r),
	                404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, "not-a-uuid", "", NULL, &r), 404);
	itest_resp_free(&r);
	/* The endpoint of B cannot retry A's delivery either. */
	{
		char idb[RTEST_UUID_LEN + 1];

		hook_new(rt.tok_b, "[\"job.cancelled\"]", idb);
		CU_ASSERT_EQUAL(hook_call("POST", rt.tok_b, idb, rest, "", &r), 404);
		itest_assert_error(&r, 404, "not_found");
		itest_resp_free(&r);
		hooks_clear(rt.tok_b);
	}
	/* A's endpoint is as it was. */
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, "", NULL, &r), 200);
	CU_ASSERT_TRUE(json_object_get_boolean(itest_member(r.json, "enabled")));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_deliveries WHERE id = $1::uuid AND state = 'pending'",
	                did, NULL, NULL),
	        1);
	hooks_clear(rt.tok_a);
}

static void test_deliveries_list_their_attempts_and_a_retry_makes_one_due(void)
{
	char id[RTEST_UUID_LEN + 1], job1[RTEST_UUID_LEN + 1], job2[RTEST_UUID_LEN + 1],
	        did[RTEST_UUID_LEN + 1];
	char rest[128];
	struct itest_resp r;
	struct json_object *items, *d, *log;

	hook_new(rt.tok_a, "[\"job.cancelled\"]", id);
	waiting_job(job1);
	cancel_job(job1);
	waiting_job(job2);
	cancel_job(job2);
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, "/deliveries", NULL, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 2);
	items = itest_member(r.json, "items");
	CU_ASSERT_FATAL(items != NULL && json_object_array_length(items) == 2);
	d = json_object_array_get_idx(items, 0);
	CU_ASSERT_TRUE(itest_matches(itest_member_str(d, "id"), ITEST_UUID_RE));
	CU_ASSERT_TRUE(itest_matches(itest_member_str(d, "eventId"), ITEST_UUID_RE));
	CU_ASSERT_STRING_EQUAL(itest_member_str(d, "type"), "job.cancelled");
	CU_ASSERT_STRING_EQUAL(itest_member_str(d, "state"), "pending");
	CU_ASSERT_EQUAL(itest_member_int(d, "attempts"), 0);
	CU_ASSERT_TRUE(itest_parse_rfc3339_utc(itest_member_str(d, "nextAttemptAt")) > 0);
	CU_ASSERT_TRUE(itest_member_null(d, "lastStatusCode"));
	CU_ASSERT_TRUE(itest_member_null(d, "finishedAt"));
	log = itest_member(d, "attemptLog");
	CU_ASSERT_TRUE(log != NULL && json_object_array_length(log) == 0);
	/* newest first: the second job's */
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id "
	                "WHERE d.id = $1::uuid AND e.subject->>'id' = $2",
	                itest_member_str(d, "id"), job2, NULL),
	        1);
	snprintf(did, sizeof(did), "%s", itest_member_str(d, "id"));
	itest_resp_free(&r);

	/* As media-hooks would leave it after 25 attempts: failed, the last answer a 500. */
	CU_ASSERT(sql_run(
	        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, "
	        "error, response_body) SELECT $1::uuid, n, now() - (30 - n) * interval '1 minute', "
	        "CASE WHEN n % 2 = 0 THEN 500 END, 10 * n, CASE WHEN n % 2 = 1 THEN 'timed out' END, "
	        "'oops ' || n FROM generate_series(1, 25) n",
	        did, NULL, NULL));
	CU_ASSERT(sql_run(
	        "UPDATE webhook_deliveries SET state = 'failed', attempts = 25, last_status_code = 500, "
	        "last_error = 'HTTP 500', finished_at = now(), lease_owner = 'h1', "
	        "lease_until = now() + interval '1 minute', window_from = now() - interval '2 days' "
	        "WHERE id = $1::uuid",
	        did, NULL, NULL));
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, "/deliveries?state=failed", NULL, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 1);
	items = itest_member(r.json, "items");
	CU_ASSERT_FATAL(items != NULL && json_object_array_length(items) == 1);
	d = json_object_array_get_idx(items, 0);
	CU_ASSERT_STRING_EQUAL(itest_member_str(d, "id"), did);
	CU_ASSERT_STRING_EQUAL(itest_member_str(d, "state"), "failed");
	CU_ASSERT_EQUAL(itest_member_int(d, "attempts"), 25);
	CU_ASSERT_EQUAL(itest_member_int(d, "lastStatusCode"), 500);
	CU_ASSERT_TRUE(itest_member_null(d, "nextAttemptAt"));
	CU_ASSERT_TRUE(itest_parse_rfc3339_utc(itest_member_str(d, "finishedAt")) > 0);
	log = itest_member(d, "attemptLog");
	CU_ASSERT_FATAL(log != NULL && json_object_array_length(log) == 20);
	CU_ASSERT_EQUAL(itest_member_int(json_object_array_get_idx(log, 0), "attempt"), 25);
	CU_ASSERT_EQUAL(itest_member_int(json_object_array_get_idx(log, 19), "attempt"), 6);
	CU_ASSERT_EQUAL(itest_member_int(json_object_array_get_idx(log, 1), "statusCode"), 500);
	CU_ASSERT_EQUAL(itest_member_int(json_object_array_get_idx(log, 1), "latencyMs"), 240);
	/* Only the newest attempt shows its response body: a page stays small. */
	CU_ASSERT_STRING_EQUAL(itest_member_str(json_object_array_get_idx(log, 0), "responseBody"),
	                       "oops 25");
	CU_ASSERT_TRUE(itest_member_null(json_object_array_get_idx(log, 1), "responseBody"));
	CU_ASSERT_FALSE(json_object_object_get_ex(r.json, "totalCapped", NULL) &&
	                json_object_get_boolean(itest_member(r.json, "totalCapped")));
	CU_ASSERT_TRUE(itest_member_null(json_object_array_get_idx(log, 1), "error"));
	CU_ASSERT_TRUE(itest_member_null(json_object_array_get_idx(log, 0), "statusCode"));
	CU_ASSERT_STRING_EQUAL(itest_member_str(json_object_array_get_idx(log, 0), "error"), "timed out");
	CU_ASSERT_TRUE(itest_parse_rfc3339_utc(
	                       itest_member_str(json_object_array_get_idx(log, 0), "startedAt")) > 0);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, "/deliveries?state=pending&limit=1", NULL, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 1);
	itest_resp_free(&r);

	/* The retry: pending, due now, a new window, no lease; the attempts stay counted. */
	snprintf(rest, sizeof(rest), "/deliveries/%s/retry", did);
	CU_ASSERT_EQUAL(hook_call("POST", rt.tok_a, id, rest, "", &r), 202);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "id"), did);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "pending");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 25);
	CU_ASSERT_TRUE(itest_member_null(r.json, "finishedAt"));
	CU_ASSERT_TRUE(itest_parse_rfc3339_utc(itest_jstr(&r, "nextAttemptAt")) > 0);
	log = itest_member(r.json, "attemptLog");
	CU_ASSERT_TRUE(log != NULL && json_object_array_length(log) == 20);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_deliveries WHERE id = $1::uuid AND state = 'pending' "
	                "AND next_attempt_at <= now() AND window_from > now() - interval '1 minute' "
	                "AND lease_owner IS NULL AND lease_until IS NULL AND finished_at IS NULL",
	                did, NULL, NULL),
	        1);
	/* Pending under a live lease: being sent now, 409, and nothing changes. */
	CU_ASSERT(sql_run("UPDATE webhook_deliveries SET lease_owner = 'h2', lease_until = now() + interval "
	                  "'1 minute', next_attempt_at = now() + interval '1 hour' WHERE id = $1::uuid",
	                  did, NULL, NULL));
	retry_refused(id, rest, "sent now");
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_deliveries WHERE id = $1::uuid AND lease_owner = "
	                "'h2' AND next_attempt_at > now() + interval '50 minutes'",
	                did, NULL, NULL),
	        1);
	/* Its lease ran out (the sender died): due now, a new window. */
	CU_ASSERT(sql_run("UPDATE webhook_deliveries SET lease_until = now() - interval '1 second', "
	                  "window_from = now() - interval '1 day' WHERE id = $1::uuid",
	                  did, NULL, NULL));
	CU_ASSERT_EQUAL(hook_call("POST", rt.tok_a, id, rest, "", &r), 202);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_deliveries WHERE id = $1::uuid AND state = 'pending' "
	                "AND next_attempt_at <= now() AND window_from > now() - interval '1 minute' "
	                "AND lease_owner IS NULL",
	                did, NULL, NULL),
	        1);
	/* Delivered: 409, it stays delivered. */
	CU_ASSERT(sql_run("UPDATE webhook_deliveries SET state = 'succeeded', finished_at = now(), "
	                  "last_status_code = 204 WHERE id = $1::uuid",
	                  did, NULL, NULL));
	retry_refused(id, rest, "already delivered");
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_deliveries WHERE id = $1::uuid AND state = 'succeeded'",
	                did, NULL, NULL),
	        1);
	/* A delivery of another endpoint, an unknown one, a malformed one: 404. */
	CU_ASSERT_EQUAL(hook_call("POST", rt.tok_a, id,
	                          "/deliveries/f84a2c4c-1a23-4e98-b3d5-04c97e2c1f10/retry", "", &r),
	                404);
	itest_assert_error(&r, 404, "not_found");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("POST", rt.tok_a, id, "/deliveries/1/retry", "", &r), 404);
	itest_resp_free(&r);
	/* A disabled endpoint: enable it first. */
	hook_disable(id);
	CU_ASSERT(sql_run(
	        "UPDATE webhook_deliveries SET state = 'failed', finished_at = now() WHERE id = $1::uuid",
	        did, NULL, NULL));
	retry_refused(id, rest, "enable");
	/* ...but a delivery it does not have is still not found. */
	CU_ASSERT_EQUAL(hook_call("POST", rt.tok_a, id,
	                          "/deliveries/f84a2c4c-1a23-4e98-b3d5-04c97e2c1f10/retry", "", &r),
	                404);
	itest_assert_error(&r, 404, "not_found");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_deliveries WHERE id = $1::uuid AND state = 'failed'",
	                did, NULL, NULL),
	        1);
	hooks_clear(rt.tok_a);
}

/* Asserts that the attempts page in r holds attempts first, first - 1, ... (count of them), each
 * as written by test_every_attempt_of_a_delivery_is_reachable_by_pages. */
static void assert_attempts_page(const struct itest_resp *r, long long first, size_t count)
{
	struct json_object *items = itest_member(r->json, "items"), *a;
	char body[32];

	CU_ASSERT_EQUAL(itest_member_int(r->json, "total"), 45);
	CU_ASSERT_FATAL(items != NULL && json_object_array_length(items) == count);
	for (size_t i = 0; i < count; i++) {
		long long n = first - (long long)i;

		a = json_object_array_get_idx(items, i);
		CU_ASSERT_EQUAL(itest_member_int(a, "attempt"), n);
		CU_ASSERT_EQUAL(itest_member_int(a, "latencyMs"), 10 * n);
		CU_ASSERT_TRUE(itest_parse_rfc3339_utc(itest_member_str(a, "startedAt")) > 0);
		/* Every attempt shows its body, not only the newest. */
		snprintf(body, sizeof(body), "oops %lld", n);
		CU_ASSERT_STRING_EQUAL(itest_member_str(a, "responseBody"), body);
		if (n % 2 == 0) {
			CU_ASSERT_EQUAL(itest_member_int(a, "statusCode"), 500);
			CU_ASSERT_TRUE(itest_member_null(a, "error"));
		} else {
			CU_ASSERT_TRUE(itest_member_null(a, "statusCode"));
			CU_ASSERT_STRING_EQUAL(itest_member_str(a, "error"), "timed out");
		}
	}
}

/* Asserts that GET /webhooks/id<rest> as tok is 404 not_found. */
static void get_not_found(const char *tok, const char *id, const char *rest)
{
	struct itest_resp r;

	CU_ASSERT_EQUAL(hook_call("GET", tok, id, rest, NULL, &r), 404);
	itest_assert_error(&r, 404, "not_found");
	itest_resp_free(&r);
}

static void test_every_attempt_of_a_delivery_is_reachable_by_pages(void)
{
	char id[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], did[RTEST_UUID_LEN + 1],
	        other[RTEST_UUID_LEN + 1], did2[RTEST_UUID_LEN + 1], idb[RTEST_UUID_LEN + 1],
	        rest[RETRY_PATH_SIZE], one[RETRY_PATH_SIZE], attempts[RETRY_PATH_SIZE / 2],
	        path[RETRY_PATH_SIZE];
	struct itest_resp r;
	struct json_object *log;
	long long next = 45;

	hook_with_delivery(id, uuid, did, rest);
	snprintf(one, sizeof(one), "/deliveries/%s", did);
	snprintf(attempts, sizeof(attempts), "/deliveries/%s/attempts", did);
	/* Not attempted yet: the delivery, and an empty page. */
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, attempts, NULL, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 0);
	log = itest_member(r.json, "items");
	CU_ASSERT_FATAL(log != NULL && json_object_array_length(log) == 0);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "limit"), 50);
	itest_resp_free(&r);
	/* More attempts than a delivery object shows (20). */
	CU_ASSERT(sql_run(
	        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, "
	        "error, response_body) SELECT $1::uuid, n, now() - (50 - n) * interval '1 minute', "
	        "CASE WHEN n % 2 = 0 THEN 500 END, 10 * n, CASE WHEN n % 2 = 1 THEN 'timed out' END, "
	        "'oops ' || n FROM generate_series(1, 45) n",
	        did, NULL, NULL));
	CU_ASSERT(sql_run("UPDATE webhook_deliveries SET state = 'failed', attempts = 45, "
	                  "last_error = 'timed out', finished_at = now() WHERE id = $1::uuid",
	                  did, NULL, NULL));

	/* The delivery, as the list shows it. */
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, one, NULL, &r), 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "id"), did);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "type"), "job.cancelled");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "state"), "failed");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "attempts"), 45);
	log = itest_member(r.json, "attemptLog");
	CU_ASSERT_FATAL(log != NULL && json_object_array_length(log) == 20);
	CU_ASSERT_EQUAL(itest_member_int(json_object_array_get_idx(log, 19), "attempt"), 26);
	itest_resp_free(&r);

	/* Every attempt, newest first, by pages of 20: 45..26, 25..6, 5..1. */
	for (long long offset = 0; offset < 60; offset += 20) {
		snprintf(path, sizeof(path), "%s?limit=20&offset=%lld", attempts, offset);
		CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, path, NULL, &r), 200);
		CU_ASSERT_EQUAL(itest_member_int(r.json, "limit"), 20);
		CU_ASSERT_EQUAL(itest_member_int(r.json, "offset"), offset);
		assert_attempts_page(&r, next, next >= 20 ? 20 : (size_t)next);
		next -= 20;
		itest_resp_free(&r);
	}
	/* The default page holds them all; one past the end is empty. */
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, attempts, NULL, &r), 200);
	assert_attempts_page(&r, 45, 45);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "%s?offset=45", attempts);
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, path, NULL, &r), 200);
	assert_attempts_page(&r, 0, 0);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "%s?limit=201", attempts);
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, path, NULL, &r), 400);
	itest_assert_error(&r, 400, "bad_request");
	itest_resp_free(&r);

	/* Another user, through A's endpoint or an endpoint of its own: 404. */
	hook_new(rt.tok_b, "[\"job.cancelled\"]", idb);
	get_not_found(rt.tok_b, id, one);
	get_not_found(rt.tok_b, id, attempts);
	get_not_found(rt.tok_b, idb, one);
	get_not_found(rt.tok_b, idb, attempts);
	hooks_clear(rt.tok_b);
	/* A delivery of another endpoint of A's, and an unknown one: 404. */
	hook_with_delivery(other, uuid, did2, rest);
	snprintf(rest, sizeof(rest), "/deliveries/%s", did2);
	get_not_found(rt.tok_a, id, rest);
	snprintf(rest, sizeof(rest), "/deliveries/%s/attempts", did2);
	get_not_found(rt.tok_a, id, rest);
	get_not_found(rt.tok_a, other, one);
	get_not_found(rt.tok_a, id, "/deliveries/f84a2c4c-1a23-4e98-b3d5-04c97e2c1f10/attempts");
	/* A deleted endpoint: its deliveries wait for gc, but no call shows them. */
	CU_ASSERT_EQUAL(hook_call("DELETE", rt.tok_a, id, "", NULL, &r), 204);
	itest_resp_free(&r);
	get_not_found(rt.tok_a, id, one);
	get_not_found(rt.tok_a, id, attempts);
	hooks_clear(rt.tok_a);
}

static void test_delete_answers_204_and_the_endpoint_hears_nothing_more(void)
{
	char id[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], did[RTEST_UUID_LEN + 1], rest[128];
	struct itest_resp r;

	hook_with_delivery(id, uuid, did, rest);
	CU_ASSERT(
	        sql_run("INSERT INTO webhook_attempts (delivery_id, attempt, started_at, latency_ms, error) "
	                "VALUES ($1::uuid, 1, now(), 5, 'refused')",
	                did, NULL, NULL));
	CU_ASSERT_EQUAL(hook_call("DELETE", rt.tok_a, id, "", NULL, &r), 204);
	CU_ASSERT_EQUAL(r.body_len, 0);
	itest_resp_free(&r);
	/* Softly: disabled and marked; its deliveries wait for mediactl gc. */
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhooks WHERE id = $1::uuid AND deleted_at IS NOT NULL "
	                "AND NOT enabled",
	                id, NULL, NULL),
	        1);
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1::uuid", id,
	                        NULL, NULL),
	                1);
	/* Gone from every call. */
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, "", NULL, &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("GET", rt.tok_a, id, "/deliveries", NULL, &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("POST", rt.tok_a, id, rest, "", &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_a, id, "", "{\"enabled\":true}", &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(hook_call("DELETE", rt.tok_a, id, "", NULL, &r), 404);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_json("GET", "/webhooks", rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total"), 0);
	itest_resp_free(&r);
	/* Not one more delivery for it. */
	waiting_job(uuid);
	cancel_job(uuid);
	CU_ASSERT_EQUAL(deliveries_of(id, "job.cancelled", uuid), 0);
	CU_ASSERT_EQUAL(events_of("job.cancelled", uuid), 0);
	/* Nor does it count toward the 16. */
	for (int i = 0; i < 16; i++)
		hook_new(rt.tok_a, "[\"media.deleted\"]", did);
	hooks_clear(rt.tok_a);
}

/*
 * A DELETE /webhooks/:id while a change that fans out to the endpoint is still open: the delete
 * neither waits for it nor makes it fail (a hard delete waited on the fan-out's foreign-key lock
 * until lock_timeout, or, committed between the change's snapshot and its insert, failed the change
 * with 23503).
 */
static void test_a_delete_racing_a_change_fails_neither(void)
{
	char id[RTEST_UUID_LEN + 1], id2[RTEST_UUID_LEN + 1], j1[RTEST_UUID_LEN + 1], j2[RTEST_UUID_LEN + 1];
	struct itest_resp r;
	long long t0;

	hook_new(rt.tok_a, "[\"job.cancelled\"]", id);
	hook_new(rt.tok_a, "[\"job.cancelled\"]", id2);
	waiting_job(j1);
	waiting_job(j2);
	/* The change first: its fan-out holds the endpoint's row. */
	CU_ASSERT_FATAL(sql_run("BEGIN", NULL, NULL, NULL));
	CU_ASSERT(
	        sql_run("UPDATE render_jobs SET state = 'cancelled', finished_at = now() WHERE id = $1::uuid",
	                j1, NULL, NULL));
	t0 = itest_now_ms();
	CU_ASSERT_EQUAL(hook_call("DELETE", rt.tok_a, id, "", NULL, &r), 204);
	itest_resp_free(&r);
	CU_ASSERT(itest_now_ms() - t0 < 1000);
	CU_ASSERT(sql_run("COMMIT", NULL, NULL, NULL));
	CU_ASSERT_EQUAL(deliveries_of(id, "job.cancelled", j1), 1);
	CU_ASSERT_EQUAL(deliveries_of(id2, "job.cancelled", j1), 1);
	/* The delete first, committed after the change's snapshot was taken. */
	CU_ASSERT_FATAL(sql_run("BEGIN ISOLATION LEVEL REPEATABLE READ", NULL, NULL, NULL));
	CU_ASSERT(sql_num("SELECT count(*) FROM webhooks", NULL, NULL, NULL) >= 0);
	CU_ASSERT_EQUAL(hook_call("DELETE", rt.tok_a, id2, "", NULL, &r), 204);
	itest_resp_free(&r);
	CU_ASSERT(
	        sql_run("UPDATE render_jobs SET state = 'cancelled', finished_at = now() WHERE id = $1::uuid",
	                j2, NULL, NULL));
	CU_ASSERT(sql_run("COMMIT", NULL, NULL, NULL));
	CU_ASSERT_EQUAL(rtest_sql_count("SELECT count(*) FROM render_jobs WHERE id = $1::uuid AND state = "
	                                "'cancelled'",
	                                j2),
	                1);
	hooks_clear(rt.tok_a);
}

/* Two POSTs at once for the 17th endpoint: one is taken, the other is 409, and 16 exist. */
static void test_two_posts_at_once_for_the_17th_endpoint_make_16(void)
{
	char id[RTEST_UUID_LEN + 1];
	struct itest_resp r;
	long mine;
	int status = 0;
	pid_t child;

	for (int i = 0; i < 15; i++)
		hook_new(rt.tok_a, "[\"media.deleted\"]", id);
	fflush(NULL);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		long st = itest_json("POST", "/webhooks", rt.tok_a,
		                     "{\"url\":\"" HOOK_URL "\",\"events\":[\"job.failed\"]}", &r) == 0 ?
		                  r.status :
		                  0;

		_exit(st == 201 ? 1 : st == 409 ? 2 : 3);
	}
	mine = hook_create_body(rt.tok_a, "{\"url\":\"" HOOK_URL "\",\"events\":[\"job.failed\"]}", NULL, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL_FATAL(waitpid(child, &status, 0), child);
	CU_ASSERT_TRUE(WIFEXITED(status));
	/* One of each, whichever won. */
	CU_ASSERT_TRUE((mine == 201 && WEXITSTATUS(status) == 2) ||
	               (mine == 409 && WEXITSTATUS(status) == 1));
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM webhooks WHERE user_id = "
	                        "(SELECT user_id FROM webhooks WHERE id = $1::uuid) AND deleted_at IS NULL",
	                        id, NULL, NULL),
	                16);
	hooks_clear(rt.tok_a);
}

static void test_patching_the_events_changes_the_fan_out(void)
{
	char id[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1];
	struct itest_resp r;

	hook_new(rt.tok_a, "[\"job.cancelled\"]", id);
	CU_ASSERT_EQUAL(hook_call("PATCH", rt.tok_a, id, "", "{\"events\":[\"job.failed\"]}", &r), 200);
	itest_resp_free(&r);
	waiting_job(uuid);
	cancel_job(uuid);
	CU_ASSERT_EQUAL(deliveries_of(id, "job.cancelled", uuid), 0);
	CU_ASSERT_EQUAL(
	        hook_call("PATCH", rt.tok_a, id, "", "{\"events\":[\"job.failed\",\"job.cancelled\"]}", &r),
	        200);
	itest_resp_free(&r);
	waiting_job(uuid);
	cancel_job(uuid);
	CU_ASSERT_EQUAL(deliveries_of(id, "job.cancelled", uuid), 1);
	hooks_clear(rt.tok_a);
}

/* Deleting a project deletes its media by cascade: one media.deleted each. */
static void test_a_project_delete_writes_one_media_deleted_per_media(void)
{
	char id[RTEST_UUID_LEN + 1], m1[24], m2[24];
	long long asset, asset2, pid;

	hook_new(rt.tok_a, "[\"media.deleted\"]", id);
	pid = rtest_project_with("still.png", &asset, NULL, 0);
	asset2 = rtest_upload_asset(rt.tok_a, pid, "clip.mp4", NULL, 0);
	CU_ASSERT_FATAL(asset2 > 0);
	snprintf(m1, sizeof(m1), "%lld", asset);
	snprintf(m2, sizeof(m2), "%lld", asset2);
	itest_delete_project(rt.tok_a, pid);
	CU_ASSERT_EQUAL(events_of("media.deleted", m1), 1);
	CU_ASSERT_EQUAL(events_of("media.deleted", m2), 1);
	CU_ASSERT_EQUAL(deliveries_of(id, "media.deleted", m1), 1);
	CU_ASSERT_EQUAL(deliveries_of(id, "media.deleted", m2), 1);
	hooks_clear(rt.tok_a);
}

/*
 * The reaper returns a job whose spawner died: back to waiting (no event: the job is not done),
 * and once it has been interrupted render_max_interruptions times, failed: exactly one job.failed.
 */
static void test_the_reaper_writes_one_job_failed_and_a_requeue_nothing(void)
{
	char id[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1];
	static const char lost[] =
	        "UPDATE render_jobs SET state = 'active', attempts = attempts + 1, "
	        "lease_owner = 'a-dead-spawner', lease_until = now() - interval '1 minute', "
	        "interruptions = $2::int WHERE id = $1::uuid";

	hook_new(rt.tok_a, "[\"job.failed\",\"job.completed\",\"job.cancelled\"]", id);
	waiting_job(uuid);
	CU_ASSERT(sql_run(lost, uuid, "0", NULL));
	CU_ASSERT_EQUAL(rtest_spawner_once(RTEST_FAKE_ENV(NULL), "1"), 0);
	CU_ASSERT_EQUAL(rtest_sql_count("SELECT count(*) FROM render_jobs WHERE id = $1::uuid AND state = "
	                                "'waiting'",
	                                uuid),
	                1);
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_events WHERE subject->>'id' = $1", uuid, NULL, NULL),
	        0);
	/* Past the interruptions allowed (render_max_interruptions, at most 1000). */
	CU_ASSERT(sql_run(lost, uuid, "1000", NULL));
	CU_ASSERT_EQUAL(rtest_spawner_once(RTEST_FAKE_ENV(NULL), "1"), 0);
	CU_ASSERT_EQUAL(rtest_sql_count("SELECT count(*) FROM render_jobs WHERE id = $1::uuid AND state = "
	                                "'failed'",
	                                uuid),
	                1);
	CU_ASSERT_EQUAL(events_of("job.failed", uuid), 1);
	CU_ASSERT_EQUAL(deliveries_of(id, "job.failed", uuid), 1);
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_events WHERE subject->>'id' = $1", uuid, NULL, NULL),
	        1);
	hooks_clear(rt.tok_a);
}

/* A failed result's log line: the constraint and the primary message, never the row (DETAIL). */
static void test_a_database_error_is_logged_without_the_row(void)
{
	char line[DB_ERROR_SUMMARY_MAX];
	PGresult *res = PQexec(pg, "INSERT INTO webhooks (user_id, url, events, secret) SELECT id, "
	                           "'https://x.example.com/', '{job.failed}', 'whsec_not-in-any-log-line' "
	                           "|| repeat('x', 200) FROM users LIMIT 1");

	CU_ASSERT_EQUAL_FATAL(PQresultStatus(res), PGRES_FATAL_ERROR);
	/* What libpq's whole message says... */
	CU_ASSERT_PTR_NOT_NULL(strstr(PQresultErrorMessage(res), "whsec_not-in-any-log-line"));
	db_error_summary(res, line, sizeof(line));
	/* ...and what db.c logs. */
	CU_ASSERT_PTR_NULL(strstr(line, "whsec_"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "23514"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "webhooks_secret_check"));
	PQclear(res);
}

/* ---- the outbox ----------------------------------------------------------------------------------- */

static void test_a_completed_job_writes_one_delivery_per_subscribed_enabled_endpoint(void)
{
	char on[RTEST_UUID_LEN + 1], on2[RTEST_UUID_LEN + 1], other[RTEST_UUID_LEN + 1],
	        off[RTEST_UUID_LEN + 1];
	char uuid[RTEST_UUID_LEN + 1], copy[PATH_MAX + 16];
	struct itest_resp r;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);

	hook_new(rt.tok_a, "[\"job.completed\"]", on);
	hook_new(rt.tok_a, "[\"job.failed\",\"job.completed\",\"media.ready\"]", on2);
	hook_new(rt.tok_a, "[\"job.failed\",\"job.cancelled\"]", other);
	hook_new(rt.tok_a, "[\"job.completed\"]", off);
	hook_disable(off);
	/* Another user's endpoint hears nothing of A's jobs. */
	{
		char idb[RTEST_UUID_LEN + 1];

		hook_new(rt.tok_b, "[\"job.completed\"]", idb);
		snprintf(copy, sizeof(copy), "%s/clip.mp4", rt.fixtures);
		rtest_fake_mode("mode=ok\ncopy=%s\nlog=%s\n", copy, rt.fake_log);
		rtest_enqueue_ok(pid, "{\"preset\":\"mp4\"}", uuid);
		/* Nothing before the change. */
		CU_ASSERT_EQUAL(events_of("job.completed", uuid), 0);
		CU_ASSERT_EQUAL(rtest_spawner_once(RTEST_FAKE_ENV(NULL), "1"), 0);
		rtest_expect_job(uuid, "completed", 10000, &r);
		itest_resp_free(&r);
		CU_ASSERT_EQUAL(deliveries_of(idb, "job.completed", uuid), 0);
		hooks_clear(rt.tok_b);
	}
	CU_ASSERT_EQUAL(events_of("job.completed", uuid), 1);
	CU_ASSERT_EQUAL(deliveries_of(on, "job.completed", uuid), 1);
	CU_ASSERT_EQUAL(deliveries_of(on2, "job.completed", uuid), 1);
	CU_ASSERT_EQUAL(deliveries_of(other, "job.completed", uuid), 0);
	CU_ASSERT_EQUAL(deliveries_of(off, "job.completed", uuid), 0);
	/* Nothing else of that job (its waiting and active states are no events). */
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_events WHERE subject->>'id' = $1", uuid, NULL, NULL),
	        1);
	/* The event is A's, its subject the job row as it completed. */
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_events e JOIN render_jobs j ON j.id = $1::uuid "
	                "WHERE e.type = 'job.completed' AND e.subject->>'id' = j.id::text AND e.user_id = j.user_id "
	                "AND e.subject->>'state' = 'completed' AND e.subject->>'preset' = 'mp4' "
	                "AND e.payload IS NULL",
	                uuid, NULL, NULL),
	        1);
	hooks_clear(rt.tok_a);
}

static void test_a_failed_job_writes_job_failed(void)
{
	char failed[RTEST_UUID_LEN + 1], done[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1];
	struct itest_resp r;
	long long pid = rtest_project_with("still.png", NULL, NULL, 0);

	hook_new(rt.tok_a, "[\"job.failed\"]", failed);
	hook_new(rt.tok_a, "[\"job.completed\",\"job.cancelled\"]", done);
	rtest_fake_mode("mode=fail\nlog=%s\n", rt.fake_log);
	rtest_enqueue_ok(pid, "{\"preset\":\"mp4\"}", uuid);
	CU_ASSERT_EQUAL(rtest_spawner_once(RTEST_FAKE_ENV(NULL), "1"), 0);
	rtest_expect_job(uuid, "failed", 10000, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(deliveries_of(failed, "job.failed", uuid), 1);
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id "
	                "WHERE d.webhook_id = $1::uuid AND e.subject->>'id' = $2",
	                done, uuid, NULL),
	        0);
	hooks_clear(rt.tok_a);
}

static void test_a_cancelled_job_writes_job_cancelled(void)
{
	char hook[RTEST_UUID_LEN + 1], off[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1];

	hook_new(rt.tok_a, "[\"job.cancelled\"]", hook);
	hook_new(rt.tok_a, "[\"job.cancelled\"]", off);
	hook_disable(off);
	waiting_job(uuid);
	cancel_job(uuid);
	CU_ASSERT_EQUAL(deliveries_of(hook, "job.cancelled", uuid), 1);
	CU_ASSERT_EQUAL(deliveries_of(off, "job.cancelled", uuid), 0);
	CU_ASSERT_EQUAL(events_of("job.cancelled", uuid), 1);
	hooks_clear(rt.tok_a);
}

static void test_deleting_a_media_writes_media_deleted(void)
{
	char hook[RTEST_UUID_LEN + 1], other[RTEST_UUID_LEN + 1], mid[24];
	long long asset;

	hook_new(rt.tok_a, "[\"media.deleted\"]", hook);
	hook_new(rt.tok_a, "[\"media.ready\",\"media.failed\"]", other);
	rtest_project_with("still.png", &asset, NULL, 0);
	snprintf(mid, sizeof(mid), "%lld", asset);
	/* An upload without renditions is ready from the start: no event. */
	CU_ASSERT_EQUAL(deliveries_of(other, "media.ready", mid), 0);
	itest_delete_media(rt.tok_a, asset);
	CU_ASSERT_EQUAL(deliveries_of(hook, "media.deleted", mid), 1);
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1::uuid", other,
	                        NULL, NULL),
	                0);
	hooks_clear(rt.tok_a);
}

/* POST /media/id/renditions {"preset": preset} as user A; the job id into uuid. */
static void rendition(long long id, const char *preset, char uuid[RTEST_UUID_LEN + 1])
{
	struct itest_resp r;
	char path[64], body[64];

	snprintf(path, sizeof(path), "/media/%lld/renditions", id);
	snprintf(body, sizeof(body), "{\"preset\":\"%s\"}", preset);
	CU_ASSERT_FATAL(itest_json("POST", path, rt.tok_a, body, &r) == 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 202);
	snprintf(uuid, RTEST_UUID_LEN + 1, "%s", itest_jstr(&r, "jobId"));
	itest_resp_free(&r);
}

static void test_renditions_that_finish_write_media_ready_or_media_failed(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], mid[24];
	struct itest_resp r;
	long long asset;

	hook_new(rt.tok_a, "[\"media.ready\",\"media.failed\"]", hook);
	rtest_project_with("clip.mp4", &asset, NULL, 0);
	snprintf(mid, sizeof(mid), "%lld", asset);
	/* A poster by the real ffmpeg: processing, then ready. */
	rendition(asset, "poster", uuid);
	CU_ASSERT_EQUAL(events_of("media.ready", mid), 0);
	CU_ASSERT_EQUAL(rtest_spawner_once(NULL, "1"), 0);
	rtest_expect_job(uuid, "completed", 30000, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(deliveries_of(hook, "media.ready", mid), 1);
	CU_ASSERT_EQUAL(deliveries_of(hook, "media.failed", mid), 0);
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_events WHERE type = 'media.ready' AND subject->>'id' = $1 "
	                "AND subject->>'status' = 'ready'",
	                mid, NULL, NULL),
	        1);
	/* A storyboard the fake ffmpeg refuses: processing, then failed. */
	rtest_fake_mode("mode=fail\nlog=%s\n", rt.fake_log);
	rendition(asset, "storyboard", uuid);
	CU_ASSERT_EQUAL(rtest_spawner_once(RTEST_FAKE_ENV(NULL), "1"), 0);
	rtest_expect_job(uuid, "failed", 10000, &r);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(deliveries_of(hook, "media.failed", mid), 1);
	CU_ASSERT_EQUAL(deliveries_of(hook, "media.ready", mid), 1);
	hooks_clear(rt.tok_a);
}

/* The JSON text of o as the API writes its answers (http/response.c); the caller frees it. */
static char *json_text(struct json_object *o)
{
	const char *s =
	        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return strdup(s != NULL ? s : "");
}

/* The "data" of event ev's payload as media-hooks builds it (payload_get), built afresh from the
 * event's row, as text; the caller frees it. NULL on failure. */
static char *event_data(const char *ev)
{
	struct db *db = db_new(getenv("DATABASE_URL"), 5, outbox_statements, outbox_statements_count);
	const char *prepared = getenv("DB_PREPARED");
	struct buf b = BUF_INIT;
	struct json_object *o = NULL, *data;
	char *text = NULL;

	/* Through PgBouncer in transaction mode (run-pgbouncer.sh), as media-hooks would be. */
	if (db != NULL && prepared != NULL && strcmp(prepared, "off") == 0)
		db_set_prepared(db, false);
	if (db != NULL &&
	    sql_run("UPDATE webhook_events SET payload = NULL WHERE id = $1::uuid", ev, NULL, NULL) &&
	    payload_get(db, ev, &b) == MERR_OK)
		o = json_tokener_parse(b.data);
	if (json_object_object_get_ex(o, "data", &data))
		text = json_text(data);
	json_object_put(o);
	buf_free(&b);
	db_free(db);
	return text;
}

/* GET /media/id as user A, as text; the caller frees it. */
static char *media_now(long long id)
{
	struct itest_resp r;
	char path[64], *text;

	snprintf(path, sizeof(path), "/media/%lld", id);
	CU_ASSERT_FATAL(itest_json("GET", path, rt.tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	text = json_text(r.json);
	itest_resp_free(&r);
	return text;
}

/* A poster of media id by the real ffmpeg, run to completion. */
static void poster(long long id)
{
	char uuid[RTEST_UUID_LEN + 1];
	struct itest_resp r;

	rendition(id, "poster", uuid);
	CU_ASSERT_EQUAL(rtest_spawner_once(NULL, "1"), 0);
	rtest_expect_job(uuid, "completed", 30000, &r);
	itest_resp_free(&r);
}

/*
 * media.ready's data is GET /media/:id at the moment of the event, renditions and rendition jobs
 * included, however late media-hooks first builds it: a later render changes the media, not what
 * the event says.
 */
static void test_media_ready_data_is_the_media_as_it_was(void)
{
	char hook[RTEST_UUID_LEN + 1], mid[24], ev[RTEST_UUID_LEN + 8], ev2[RTEST_UUID_LEN + 8];
	const char *params[1] = { mid };
	char *then, *data, *later, *data2;
	long long asset;

	hook_new(rt.tok_a, "[\"media.ready\"]", hook);
	rtest_project_with("clip.mp4", &asset, NULL, 0);
	snprintf(mid, sizeof(mid), "%lld", asset);
	poster(asset);
	then = media_now(asset);
	CU_ASSERT_FATAL(rtest_sql("SELECT id::text FROM webhook_events WHERE type = 'media.ready' AND "
	                          "subject->>'id' = $1 ORDER BY created_at LIMIT 1",
	                          1, params, ev, sizeof(ev)));
	data = event_data(ev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_PTR_NOT_NULL(strstr(then, "\"renditions\":[{\"kind\":\"poster\""));
	CU_ASSERT_STRING_EQUAL(data, then);
	free(data);
	/* A second poster replaces the first: the media changes, the first event does not. */
	poster(asset);
	later = media_now(asset);
	CU_ASSERT_STRING_NOT_EQUAL(later, then);
	data = event_data(ev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_STRING_EQUAL(data, then);
	/* ...and the second render's own media.ready says the media as it is now. */
	CU_ASSERT_FATAL(rtest_sql("SELECT id::text FROM webhook_events WHERE type = 'media.ready' AND "
	                          "subject->>'id' = $1 ORDER BY created_at DESC LIMIT 1",
	                          1, params, ev2, sizeof(ev2)));
	CU_ASSERT_STRING_NOT_EQUAL(ev2, ev);
	data2 = event_data(ev2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data2);
	CU_ASSERT_STRING_EQUAL(data2, later);
	free(data);
	free(data2);
	free(then);
	free(later);
	hooks_clear(rt.tok_a);
}

static void test_a_rolled_back_change_writes_nothing(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1];

	hook_new(rt.tok_a, "[\"job.completed\"]", hook);
	waiting_job(uuid);
	CU_ASSERT_FATAL(sql_run("BEGIN", NULL, NULL, NULL));
	CU_ASSERT(
	        sql_run("UPDATE render_jobs SET state = 'completed', finished_at = now() WHERE id = $1::uuid",
	                uuid, NULL, NULL));
	/* The trigger wrote it in the change's own transaction... */
	CU_ASSERT_EQUAL(deliveries_of(hook, "job.completed", uuid), 1);
	CU_ASSERT_FATAL(sql_run("ROLLBACK", NULL, NULL, NULL));
	/* ...and it went with it. */
	CU_ASSERT_EQUAL(deliveries_of(hook, "job.completed", uuid), 0);
	CU_ASSERT_EQUAL(events_of("job.completed", uuid), 0);
	hooks_clear(rt.tok_a);
}

/* Runs mediactl gc (dry: --dry-run) and reads its webhook line's five counts into n: finished
 * deliveries, deleted endpoints, their deliveries, events. False when the line is not there. */
static bool gc_counts(bool dry, long long n[4])
{
	const char *argv[] = { getenv("MEDIACTL"), "gc", dry ? "--dry-run" : NULL, NULL };
	char out[8192], verb[32];
	const char *line;
	long long secs;

	CU_ASSERT_FATAL(argv[0] != NULL);
	CU_ASSERT_EQUAL(itest_run_capture(argv, out, sizeof(out)), 0);
	line = strstr(out, "gc: webhooks: ");
	if (line == NULL ||
	    sscanf(line,
	           "gc: webhooks: %lld deliveries finished over %llds ago, %lld deleted endpoints with %lld "
	           "deliveries, and %lld events %31s",
	           &n[0], &secs, &n[1], &n[2], &n[3], verb) != 6) {
		fprintf(stderr, "test_webhooks: no webhook line in mediactl gc's output:\n%s\n", out);
		return false;
	}
	CU_ASSERT_STRING_EQUAL(verb, dry ? "would" : "removed");
	return true;
}

/* The id of the delivery of endpoint hook for job into out (RTEST_UUID_LEN + 1 bytes). */
static void delivery_of(const char *hook, const char *job, char *out)
{
	const char *params[2] = { hook, job };

	CU_ASSERT_FATAL(rtest_sql("SELECT d.id::text FROM webhook_deliveries d JOIN webhook_events e ON "
	                          "e.id = d.event_id WHERE d.webhook_id = $1::uuid AND e.subject->>'id' = $2",
	                          2, params, out, RTEST_UUID_LEN + 8));
}

static void test_gc_removes_old_deliveries_deleted_endpoints_and_events_left_without_any(void)
{
	char hook[RTEST_UUID_LEN + 1], gone[RTEST_UUID_LEN + 1], j[3][RTEST_UUID_LEN + 1],
	        d1[RTEST_UUID_LEN + 8], g1[RTEST_UUID_LEN + 8];
	long long n[4];

	/* What earlier tests left (their endpoints are deleted) goes first: counts start at 0. */
	CU_ASSERT_FATAL(gc_counts(false, n));
	CU_ASSERT_FATAL(gc_counts(true, n));
	CU_ASSERT(n[0] == 0 && n[1] == 0 && n[2] == 0 && n[3] == 0);
	hook_new(rt.tok_a, "[\"job.cancelled\"]", hook);
	hook_new(rt.tok_a, "[\"job.cancelled\"]", gone);
	for (int i = 0; i < 3; i++) {
		waiting_job(j[i]);
		cancel_job(j[i]);
	}
	/* Three events, each delivered to both endpoints. j0: succeeded 31 days ago at hook, with an
	 * attempt; j1: failed yesterday; j2: pending for 40 days. The other endpoint is deleted. */
	delivery_of(hook, j[0], d1);
	delivery_of(gone, j[0], g1);
	CU_ASSERT(sql_run("UPDATE webhook_deliveries SET state = 'succeeded', attempts = 1, "
	                  "finished_at = now() - interval '31 days' WHERE id = $1::uuid",
	                  d1, NULL, NULL));
	CU_ASSERT(sql_run(
	        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms) "
	        "VALUES ($1::uuid, 1, now() - interval '31 days', 204, 12), "
	        "($2::uuid, 1, now() - interval '1 day', 500, 12)",
	        d1, g1, NULL));
	CU_ASSERT(sql_run(
	        "UPDATE webhook_deliveries d SET state = 'failed', finished_at = now() - interval '1 day' "
	        "FROM webhook_events e WHERE e.id = d.event_id AND e.subject->>'id' = $1",
	        j[1], NULL, NULL));
	CU_ASSERT(sql_run("UPDATE webhook_deliveries d SET created_at = now() - interval '40 days' "
	                  "FROM webhook_events e WHERE e.id = d.event_id AND e.subject->>'id' = $1",
	                  j[2], NULL, NULL));
	{
		struct itest_resp r;

		CU_ASSERT_EQUAL(hook_call("DELETE", rt.tok_a, gone, "", NULL, &r), 204);
		itest_resp_free(&r);
	}
	/* And an event nothing delivers (its user's deletion took its deliveries, say). */
	CU_ASSERT(sql_run("INSERT INTO webhook_events (user_id, type, subject) VALUES (0, 'job.failed', "
	                  "'{\"id\": \"gc-orphan\"}')",
	                  NULL, NULL, NULL));

	/* --dry-run: 1 old delivery, 1 deleted endpoint with its 3, 2 events (j0's, the orphan). */
	CU_ASSERT_FATAL(gc_counts(true, n));
	CU_ASSERT_EQUAL(n[0], 1);
	CU_ASSERT_EQUAL(n[1], 1);
	CU_ASSERT_EQUAL(n[2], 3);
	CU_ASSERT_EQUAL(n[3], 2);
	/* ...and it removed nothing. */
	CU_ASSERT_EQUAL(deliveries_of(hook, "job.cancelled", j[0]), 1);
	CU_ASSERT_EQUAL(deliveries_of(gone, "job.cancelled", j[1]), 1);
	CU_ASSERT_EQUAL(events_of("job.failed", "gc-orphan"), 1);

	CU_ASSERT_FATAL(gc_counts(false, n));
	CU_ASSERT_EQUAL(n[0], 1);
	CU_ASSERT_EQUAL(n[1], 1);
	CU_ASSERT_EQUAL(n[2], 3);
	CU_ASSERT_EQUAL(n[3], 2);
	CU_ASSERT_EQUAL(deliveries_of(hook, "job.cancelled", j[0]), 0);
	CU_ASSERT_EQUAL(events_of("job.cancelled", j[0]), 0);
	CU_ASSERT_EQUAL(events_of("job.failed", "gc-orphan"), 0);
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM webhooks WHERE id = $1::uuid", gone, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sql_num("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1::uuid", gone,
	                        NULL, NULL),
	                0);
	CU_ASSERT_EQUAL(
	        sql_num("SELECT count(*) FROM webhook_attempts WHERE delivery_id IN ($1::uuid, $2::uuid)", d1,
	                g1, NULL),
	        0);
	/* The endpoint kept keeps the rest: j1 (failed yesterday) and j2 (still pending). */
	CU_ASSERT_EQUAL(deliveries_of(hook, "job.cancelled", j[1]), 1);
	CU_ASSERT_EQUAL(deliveries_of(hook, "job.cancelled", j[2]), 1);
	CU_ASSERT_EQUAL(events_of("job.cancelled", j[1]), 1);
	/* Nothing left to do. */
	CU_ASSERT_FATAL(gc_counts(true, n));
	CU_ASSERT(n[0] == 0 && n[1] == 0 && n[2] == 0 && n[3] == 0);
	/* Deleting the last endpoint leaves its deliveries to the next run, and then their events. */
	hooks_clear(rt.tok_a);
	CU_ASSERT_FATAL(gc_counts(false, n));
	CU_ASSERT(n[1] == 1 && n[2] == 2 && n[3] == 2);
	CU_ASSERT_EQUAL(events_of("job.cancelled", j[1]), 0);
	CU_ASSERT_EQUAL(events_of("job.cancelled", j[2]), 0);
}

int main(void)
{
	CU_pSuite s;

	if (rtest_init("test_webhooks") != 0)
		return 1;
	pg = PQconnectdb(getenv("DATABASE_URL"));
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "test_webhooks: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return 1;
	}
	s = CU_add_suite_with_setup_and_teardown("webhooks", NULL, NULL, rtest_test_setup,
	                                         rtest_test_teardown);
	CU_add_test(s, "two users register and log in", rtest_setup_users);
	CU_add_test(s, "create answers 201 and shows the secret once",
	            test_create_answers_201_and_shows_the_secret_once);
	CU_add_test(s, "the list is paginated, newest first", test_list_is_paginated_newest_first);
	CU_add_test(s, "the 17th endpoint is 409 and not written",
	            test_the_17th_endpoint_is_409_and_not_written);
	CU_add_test(s, "bad input is refused and writes nothing",
	            test_bad_input_is_refused_and_writes_nothing);
	CU_add_test(s, "a private address is 422 unless allowed",
	            test_a_private_address_is_422_unless_allowed);
	CU_add_test(s, "PATCH changes what is given; enabling starts afresh",
	            test_patch_changes_what_is_given_and_enabling_starts_afresh);
	CU_add_test(s, "another user's endpoint and delivery are 404",
	            test_another_users_endpoint_and_delivery_are_404);
	CU_add_test(s, "deliveries list their attempts; a retry makes one due",
	            test_deliveries_list_their_attempts_and_a_retry_makes_one_due);
	CU_add_test(s, "every attempt of a delivery is reachable by pages",
	            test_every_attempt_of_a_delivery_is_reachable_by_pages);
	CU_add_test(s, "DELETE answers 204; the endpoint hears nothing more",
	            test_delete_answers_204_and_the_endpoint_hears_nothing_more);
	CU_add_test(s, "a DELETE racing a change fails neither", test_a_delete_racing_a_change_fails_neither);
	CU_add_test(s, "two POSTs at once for the 17th endpoint make 16",
	            test_two_posts_at_once_for_the_17th_endpoint_make_16);
	CU_add_test(s, "patching the events changes the fan-out",
	            test_patching_the_events_changes_the_fan_out);
	CU_add_test(s, "a project delete writes one media.deleted per media",
	            test_a_project_delete_writes_one_media_deleted_per_media);
	CU_add_test(s, "the reaper writes one job.failed, a requeue nothing",
	            test_the_reaper_writes_one_job_failed_and_a_requeue_nothing);
	CU_add_test(s, "a database error is logged without the row",
	            test_a_database_error_is_logged_without_the_row);
	CU_add_test(s, "a completed job writes one delivery per subscribed enabled endpoint",
	            test_a_completed_job_writes_one_delivery_per_subscribed_enabled_endpoint);
	CU_add_test(s, "a failed job writes job.failed", test_a_failed_job_writes_job_failed);
	CU_add_test(s, "a cancelled job writes job.cancelled", test_a_cancelled_job_writes_job_cancelled);
	CU_add_test(s, "deleting a media writes media.deleted", test_deleting_a_media_writes_media_deleted);
	CU_add_test(s, "renditions that finish write media.ready or media.failed",
	            test_renditions_that_finish_write_media_ready_or_media_failed);
	CU_add_test(s, "a rolled-back change writes nothing", test_a_rolled_back_change_writes_nothing);
	CU_add_test(s, "media.ready's data is the media as it was",
	            test_media_ready_data_is_the_media_as_it_was);
	CU_add_test(s, "gc removes old deliveries, deleted endpoints and events left without any",
	            test_gc_removes_old_deliveries_deleted_endpoints_and_events_left_without_any);
	{
		int rc = rtest_run_and_clean();

		PQfinish(pg);
		return rc;
	}
}
