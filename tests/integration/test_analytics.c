/* test_analytics.c: media views (who may log one, which address, rate limit), view analytics and
 * its cache, and project events against the real stack. */
#include "config.h"

#include <CUnit/Basic.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

/* view_rate_limit's default: views per minute per (ip, media). */
#define VIEW_LIMIT 30

static char dir[256];    /* the fixture made by ffmpeg at test time */
static char wav[300];    /* dir/tone.wav */
static char tok_a[4096]; /* owner of everything below */
static char tok_b[4096]; /* another user */
static PGconn *db;       /* for views and events with explicit timestamps */

/* Uploads tone.wav as tok through POST /media; returns the media id or -1. */
static long long new_media(const char *tok)
{
	const struct itest_req q = { .method = "POST", .path = "/media", .token = tok, .file = wav };
	struct itest_resp r;
	long long id = -1;

	if (itest_send(&q, &r) == 0 && r.status == 201)
		id = itest_member_int(r.json, "id");
	itest_resp_free(&r);
	return id;
}

/* The "expires=...&sig=..." query of a fresh stream link of A's media id, into out. */
static void link_query(long long id, char *out, size_t n)
{
	char path[64];
	struct itest_resp r;
	const char *url, *q;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/media/%lld/stream-url", id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok_a, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	url = itest_jstr(&r, "url");
	q = url ? strchr(url, '?') : NULL;
	if (q != NULL)
		snprintf(out, n, "%s", q + 1);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(out[0] != '\0');
}

/*
 * POST /media/:id/view. query (NULL: none) is appended after '?', tok (NULL: no Authorization),
 * xff (NULL: no X-Forwarded-For), iface (NULL: default source address). Returns the status.
 */
static long post_view(long long id, const char *query, const char *tok, const char *xff, const char *iface,
                      struct itest_resp *keep)
{
	char path[1024], fwd[256];
	const char *h[2] = { NULL, NULL };
	/* An empty body: lighttpd wants a Content-Length on a POST. */
	struct itest_req q = {
		.method = "POST", .path = path, .headers = h, .token = tok, .body = "", .iface = iface
	};
	struct itest_resp r;
	long st;

	snprintf(path, sizeof(path), "/media/%lld/view%s%s", id, query ? "?" : "", query ? query : "");
	if (xff != NULL) {
		snprintf(fwd, sizeof(fwd), "X-Forwarded-For: %s", xff);
		h[0] = fwd;
	}
	if (itest_send(&q, &r) != 0)
		return -1;
	st = r.status;
	if (keep != NULL)
		*keep = r;
	else
		itest_resp_free(&r);
	return st;
}

/* The "view" object of a 201 view answer, or NULL. */
static struct json_object *view_of(const struct itest_resp *r)
{
	return itest_member(r->json, "view");
}

/* Today's UTC date, "YYYY-MM-DD". */
static void today_utc(char out[11])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Runs one parameterised statement; asserts it succeeded. */
static void sql(const char *q, int n, const char *const *params)
{
	PGresult *res = PQexecParams(db, q, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "\n  sql: %s: %s\n", q, PQerrorMessage(db));
	CU_ASSERT_TRUE(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK);
	PQclear(res);
}

static void insert_view(long long media_id, const char *ip, const char *at)
{
	char id[32];
	const char *p[3] = { id, ip, at };

	snprintf(id, sizeof(id), "%lld", media_id);
	sql("INSERT INTO views (media_id, ip, viewed_at) VALUES ($1, $2, $3)", 3, p);
}

static void insert_event(long long project_id, const char *type, const char *at)
{
	char id[32];
	const char *p[3] = { id, type, at };

	snprintf(id, sizeof(id), "%lld", project_id);
	sql("INSERT INTO events (project_id, event_type, created_at) VALUES ($1, $2, $3)", 3, p);
}

/* GET /media/:id/analytics[?query] as tok; returns the status, r kept for the caller. */
static long get_analytics(long long id, const char *query, const char *tok, struct itest_resp *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/media/%lld/analytics%s%s", id, query ? "?" : "", query ? query : "");
	if (itest_json("GET", path, tok, NULL, r) != 0)
		return -1;
	return r->status;
}

/* total_views of A's media id (the owner's answer), or -1. */
static long long total_views(long long id, const char *query)
{
	struct itest_resp r;
	long long n = -1;

	if (get_analytics(id, query, tok_a, &r) == 200)
		n = itest_member_int(r.json, "total_views");
	itest_resp_free(&r);
	return n;
}

/* Waits (polling the clock) until at least need seconds remain in the current wall-clock minute,
 * so a burst cannot straddle the boundary of a fixed per-minute window. */
static void wait_minute_headroom(int need)
{
	while (60 - (int)(time(NULL) % 60) < need)
		itest_sleep_ms(200);
}

/* Posts VIEW_LIMIT views of id from xff as A; asserts each was accepted. */
static void use_up_the_limit(long long id, const char *xff)
{
	for (int i = 0; i < VIEW_LIMIT; i++) {
		long st = post_view(id, NULL, tok_a, xff, NULL, NULL);

		CU_ASSERT_EQUAL(st, 201);
		if (st != 201) {
			fprintf(stderr, "\n  view %d of %d from %s -> %ld\n", i + 1, VIEW_LIMIT, xff, st);
			break;
		}
	}
}

/* ---- views ------------------------------------------------------------------------------------- */

static void test_setup_users(void)
{
	itest_login(tok_a, sizeof(tok_a), NULL, 0, "analytics-a");
	itest_login(tok_b, sizeof(tok_b), NULL, 0, "analytics-b");
}

static void test_view_with_owner_token_is_201_with_the_view(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;
	struct json_object *ok, *v;
	time_t now = time(NULL), at;

	CU_ASSERT_FATAL(id > 0);
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, NULL, NULL, &r), 201);
	ok = itest_member(r.json, "ok");
	CU_ASSERT_TRUE(ok != NULL && json_object_is_type(ok, json_type_boolean) &&
	               json_object_get_boolean(ok));
	v = view_of(&r);
	CU_ASSERT_EQUAL(itest_member_int(v, "mediaId"), id);
	CU_ASSERT_PTR_NOT_NULL(itest_member(v, "ip"));
	at = itest_parse_rfc3339_utc(json_object_get_string(itest_member(v, "viewedAt")));
	CU_ASSERT_TRUE(at != -1 && at >= now - 60 && at <= now + 60);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(total_views(id, NULL), 1);
	itest_delete_media(tok_a, id);
}

static void test_view_with_stream_signature_and_no_token_is_201(void)
{
	long long id = new_media(tok_a);
	char q[512];
	struct itest_resp r;

	CU_ASSERT_FATAL(id > 0);
	link_query(id, q, sizeof(q));
	CU_ASSERT_EQUAL(post_view(id, q, NULL, NULL, NULL, &r), 201);
	CU_ASSERT_EQUAL(itest_member_int(view_of(&r), "mediaId"), id);
	itest_resp_free(&r);
	itest_delete_media(tok_a, id);
}

static void test_view_without_token_or_signature_is_401(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;

	CU_ASSERT_FATAL(id > 0);
	CU_ASSERT_EQUAL(post_view(id, NULL, NULL, NULL, NULL, &r), 401);
	itest_assert_error(&r, 401, "unauthorized");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(total_views(id, NULL), 0);
	itest_delete_media(tok_a, id);
}

static void test_view_with_tampered_signature_is_403(void)
{
	long long id = new_media(tok_a);
	char q[512], *sig;
	struct itest_resp r;

	CU_ASSERT_FATAL(id > 0);
	link_query(id, q, sizeof(q));
	sig = strstr(q, "sig=");
	CU_ASSERT_FATAL(sig != NULL && strlen(sig) > 20);
	sig[14] = sig[14] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(post_view(id, q, NULL, NULL, NULL, &r), 403);
	itest_assert_error(&r, 403, "forbidden");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(total_views(id, NULL), 0);
	itest_delete_media(tok_a, id);
}

static void test_view_with_link_of_another_media_is_403(void)
{
	long long id = new_media(tok_a), other = new_media(tok_a);
	char q[512];
	struct itest_resp r;

	CU_ASSERT_FATAL(id > 0 && other > 0);
	link_query(other, q, sizeof(q));
	CU_ASSERT_EQUAL(post_view(id, q, NULL, NULL, NULL, &r), 403);
	itest_assert_error(&r, 403, "forbidden");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(total_views(id, NULL), 0);
	itest_delete_media(tok_a, id);
	itest_delete_media(tok_a, other);
}

static void test_view_with_another_users_token_is_404(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;

	CU_ASSERT_FATAL(id > 0);
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_b, NULL, NULL, &r), 404);
	itest_assert_error(&r, 404, "not_found");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(total_views(id, NULL), 0);
	itest_delete_media(tok_a, id);
}

static void test_view_behind_trusted_proxy_logs_forwarded_client(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;
	struct json_object *ip;

	CU_ASSERT_FATAL(id > 0);
	/* From 127.0.0.1, lighttpd's address, which the harness trusts. */
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, "203.0.113.9", NULL, &r), 201);
	ip = itest_member(view_of(&r), "ip");
	CU_ASSERT_TRUE(ip != NULL && strcmp(json_object_get_string(ip), "203.0.113.9") == 0);
	itest_resp_free(&r);
	itest_delete_media(tok_a, id);
}

static void test_view_from_untrusted_address_ignores_forwarded_for(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;
	struct json_object *ip;

	CU_ASSERT_FATAL(id > 0);
	/* REMOTE_ADDR 127.0.0.2 is not a trusted proxy: its X-Forwarded-For is a lie to ignore. */
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, "203.0.113.9", "127.0.0.2", &r), 201);
	ip = itest_member(view_of(&r), "ip");
	CU_ASSERT_TRUE(ip != NULL && strcmp(json_object_get_string(ip), "127.0.0.2") == 0);
	if (ip != NULL && strcmp(json_object_get_string(ip), "127.0.0.2") != 0)
		fprintf(stderr, "\n  view from 127.0.0.2 logged ip %s\n", json_object_get_string(ip));
	itest_resp_free(&r);
	itest_delete_media(tok_a, id);
}

static void test_view_over_the_limit_is_429_with_rate_limit_headers(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;
	char v[64];
	long n;

	CU_ASSERT_FATAL(id > 0);
	wait_minute_headroom(20);
	use_up_the_limit(id, "198.51.100.1");
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, "198.51.100.1", NULL, &r), 429);
	itest_assert_error(&r, 429, "rate_limited");
	CU_ASSERT_TRUE(itest_header(&r, "Retry-After", v, sizeof(v)));
	n = strtol(v, NULL, 10);
	CU_ASSERT_TRUE(n >= 1 && n <= 60);
	CU_ASSERT_TRUE(itest_header(&r, "RateLimit-Limit", v, sizeof(v)));
	CU_ASSERT_EQUAL(strtol(v, NULL, 10), VIEW_LIMIT);
	CU_ASSERT_TRUE(itest_header(&r, "RateLimit-Remaining", v, sizeof(v)));
	CU_ASSERT_STRING_EQUAL(v, "0");
	CU_ASSERT_TRUE(itest_header(&r, "RateLimit-Reset", v, sizeof(v)));
	n = strtol(v, NULL, 10);
	CU_ASSERT_TRUE(n >= 0 && n <= 60);
	itest_resp_free(&r);
	/* The refused view was not counted. */
	CU_ASSERT_EQUAL(total_views(id, NULL), VIEW_LIMIT);
	itest_delete_media(tok_a, id);
}

static void test_limit_of_one_ip_leaves_another_ip_alone(void)
{
	long long id = new_media(tok_a);

	CU_ASSERT_FATAL(id > 0);
	wait_minute_headroom(20);
	use_up_the_limit(id, "198.51.100.2");
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, "198.51.100.2", NULL, NULL), 429);
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, "198.51.100.3", NULL, NULL), 201);
	itest_delete_media(tok_a, id);
}

static void test_limit_of_one_media_leaves_another_media_alone(void)
{
	long long id = new_media(tok_a), other = new_media(tok_a);

	CU_ASSERT_FATAL(id > 0 && other > 0);
	wait_minute_headroom(20);
	use_up_the_limit(id, "198.51.100.4");
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, "198.51.100.4", NULL, NULL), 429);
	CU_ASSERT_EQUAL(post_view(other, NULL, tok_a, "198.51.100.4", NULL, NULL), 201);
	itest_delete_media(tok_a, id);
	itest_delete_media(tok_a, other);
}

/* ---- GET /media/:id/analytics ----------------------------------------------------------------------- */

static void test_analytics_of_another_users_media_is_404(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;

	CU_ASSERT_FATAL(id > 0);
	CU_ASSERT_EQUAL(get_analytics(id, NULL, tok_b, &r), 404);
	CU_ASSERT_PTR_NULL(itest_member(r.json, "total_views"));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(get_analytics(id, NULL, NULL, &r), 401);
	itest_resp_free(&r);
	itest_delete_media(tok_a, id);
}

/*
 * Views across UTC midnights (a leap day and a month end), inserted out of order and before any
 * GET (raw SQL does not drop the cache): Feb 28th 1 view (ip .1), Feb 29th 2 (ips .1, and .2 at
 * 01:30 on March 1st in UTC+2), March 1st 1 (ip .3).
 */
static void insert_three_days(long long id)
{
	insert_view(id, "10.0.0.3", "2024-03-01T00:00:00.000Z");
	insert_view(id, "10.0.0.1", "2024-02-28T23:59:59.999Z");
	insert_view(id, "10.0.0.2", "2024-03-01T01:30:00+02:00");
	insert_view(id, "10.0.0.1", "2024-02-29T00:00:00.000Z");
}

static void test_views_per_day_are_utc_days_in_ascending_order(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;
	struct json_object *days;
	const char *want[] = { "2024-02-28", "2024-02-29", "2024-03-01" };
	const long long counts[] = { 1, 2, 1 };
	const char *p19, *p20, *p21;
	int i = 0;

	CU_ASSERT_FATAL(id > 0);
	insert_three_days(id);
	CU_ASSERT_EQUAL_FATAL(get_analytics(id, NULL, tok_a, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total_views"), 4);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "unique_ips"), 3);
	days = itest_member(r.json, "views_per_day");
	CU_ASSERT_FATAL(days != NULL && json_object_is_type(days, json_type_object));
	CU_ASSERT_EQUAL(json_object_object_length(days), 3);
	json_object_object_foreach(days, k, v)
	{
		if (i < 3) {
			CU_ASSERT_STRING_EQUAL(k, want[i]);
			CU_ASSERT_TRUE(json_object_is_type(v, json_type_int) &&
			               json_object_get_int64(v) == counts[i]);
		}
		i++;
	}
	/* Ascending in the bytes sent, too, not only after json-c parsed them. */
	p19 = strstr(r.body, "\"2024-02-28\"");
	p20 = strstr(r.body, "\"2024-02-29\"");
	p21 = strstr(r.body, "\"2024-03-01\"");
	CU_ASSERT_TRUE(p19 != NULL && p20 != NULL && p21 != NULL && p19 < p20 && p20 < p21);
	itest_resp_free(&r);
	itest_delete_media(tok_a, id);
}

static void test_range_limits_days_views_and_unique_ips(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;
	struct json_object *days;

	CU_ASSERT_FATAL(id > 0);
	insert_three_days(id);
	/* Feb 28th-29th: 3 views; ips .1 (both days, counted once) and .2. */
	CU_ASSERT_EQUAL_FATAL(get_analytics(id, "from=2024-02-28&to=2024-02-29", tok_a, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total_views"), 3);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "unique_ips"), 2);
	days = itest_member(r.json, "views_per_day");
	CU_ASSERT_EQUAL(json_object_object_length(days), 2);
	CU_ASSERT_EQUAL(itest_member_int(days, "2024-02-28"), 1);
	CU_ASSERT_EQUAL(itest_member_int(days, "2024-02-29"), 2);
	CU_ASSERT_PTR_NULL(itest_member(days, "2024-03-01"));
	itest_resp_free(&r);
	/* One day: March 1st alone. */
	CU_ASSERT_EQUAL_FATAL(get_analytics(id, "from=2024-03-01&to=2024-03-01", tok_a, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total_views"), 1);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "unique_ips"), 1);
	CU_ASSERT_EQUAL(json_object_object_length(itest_member(r.json, "views_per_day")), 1);
	itest_resp_free(&r);
	itest_delete_media(tok_a, id);
}

static void test_bad_dates_are_400(void)
{
	static const char *const bad[] = {
		"from=2026-13-01",
		"to=2026-13-01",
		"from=yesterday",
		"to=yesterday",
		"from=2026-02-30",
		"to=2025-02-29",                 /* not a leap year */
		"from=2024-03-01&to=2024-02-29", /* from after to */
		"from=2026-1-01",
		"from=2026-11-20T00:00:00Z",
		NULL,
	};
	long long id = new_media(tok_a);
	struct itest_resp r;

	CU_ASSERT_FATAL(id > 0);
	for (int i = 0; bad[i] != NULL; i++) {
		CU_ASSERT_FATAL(get_analytics(id, bad[i], tok_a, &r) >= 0);
		if (r.status != 400)
			fprintf(stderr, "\n  GET /media/%lld/analytics?%s -> %ld (want 400)\n", id, bad[i],
			        r.status);
		CU_ASSERT_EQUAL(r.status, 400);
		itest_resp_free(&r);
	}
	itest_delete_media(tok_a, id);
}

static void test_answer_is_served_from_the_cache(void)
{
	long long id = new_media(tok_a);

	CU_ASSERT_FATAL(id > 0);
	insert_view(id, "10.0.0.1", "2024-02-29T10:00:00Z");
	CU_ASSERT_EQUAL(total_views(id, NULL), 1);
	/* Raw SQL does not drop the cached answer: still 1. */
	insert_view(id, "10.0.0.2", "2024-02-29T11:00:00Z");
	CU_ASSERT_EQUAL(total_views(id, NULL), 1);
	itest_delete_media(tok_a, id);
}

static void test_posted_view_drops_the_cached_answer(void)
{
	long long id = new_media(tok_a);

	CU_ASSERT_FATAL(id > 0);
	insert_view(id, "10.0.0.1", "2024-02-29T10:00:00Z");
	CU_ASSERT_EQUAL(total_views(id, NULL), 1); /* warms the cache */
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, NULL, NULL, NULL), 201);
	CU_ASSERT_EQUAL(total_views(id, NULL), 2);
	itest_delete_media(tok_a, id);
}

static void test_posted_view_drops_cached_ranged_answers_too(void)
{
	long long id = new_media(tok_a);
	char today[11], q[64];

	CU_ASSERT_FATAL(id > 0);
	today_utc(today);
	snprintf(q, sizeof(q), "from=%s&to=%s", today, today);
	CU_ASSERT_EQUAL(total_views(id, q), 0); /* warms the cache for this range */
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, NULL, NULL, NULL), 201);
	today_utc(today);
	snprintf(q, sizeof(q), "from=%s&to=%s", today, today);
	CU_ASSERT_EQUAL(total_views(id, q), 1);
	itest_delete_media(tok_a, id);
}

/* A deleted media's cached analytics must not answer its old owner (they answered without
 * asking the database, so GET said 200 after DELETE). */
static void test_deleted_media_has_no_cached_analytics(void)
{
	long long id = new_media(tok_a);
	struct itest_resp r;
	char path[64];

	CU_ASSERT_FATAL(id > 0);
	CU_ASSERT_EQUAL(total_views(id, NULL), 0); /* warms the cache */
	itest_delete_media(tok_a, id);
	snprintf(path, sizeof(path), "/media/%lld/analytics", id);
	CU_ASSERT_EQUAL_FATAL(itest_json("GET", path, tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
}

/* Runs a redis-cli command against the harness's Redis; returns its first output line in out. */
static int redis_cli(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int redis_cli(char *out, size_t n, const char *fmt, ...)
{
	char cmd[1024], args[900];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "redis-cli -s '%s' %s", getenv("REDIS_SOCKET"), args);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	out[0] = '\0';
	if (fgets(out, (int)n, p) != NULL)
		out[strcspn(out, "\n")] = '\0';
	return pclose(p) == 0 ? 0 : -1;
}

/*
 * A reader computes an answer, a view is recorded and drops the cache, then the reader stores its
 * (now stale) answer: that answer must never be served. The late store is made by hand where a
 * reader of either design would put it (the plain key, and the generation it read before the view).
 */
static void test_a_late_reader_cannot_cache_a_stale_answer(void)
{
	long long id = new_media(tok_a);
	char gen[64] = "", out[64], stale[128], uid[32];
	struct itest_resp r;
	char path[64];

	CU_ASSERT_FATAL(id > 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(getenv("REDIS_SOCKET"));
	CU_ASSERT_EQUAL(total_views(id, NULL), 0);
	CU_ASSERT_EQUAL(redis_cli(gen, sizeof(gen), "GET mediad:analytics:gen:%lld", id), 0);
	CU_ASSERT_EQUAL(post_view(id, NULL, tok_a, NULL, NULL, NULL), 201);
	/* The owner's id, as the cached entries carry it. */
	snprintf(path, sizeof(path), "/media/%lld", id);
	CU_ASSERT_EQUAL_FATAL(itest_json("GET", path, tok_a, NULL, &r), 0);
	snprintf(uid, sizeof(uid), "%lld", itest_member_int(r.json, "userId"));
	itest_resp_free(&r);
	/* The entry is "<owner id>\n<json>"; the newline goes through the shell inside quotes. */
	snprintf(stale, sizeof(stale), "'%s\n{\"total_views\":0,\"unique_ips\":0,\"views_per_day\":{}}'",
	         uid);
	CU_ASSERT_EQUAL(redis_cli(out, sizeof(out), "HSET mediad:analytics:media:%lld ':' %s", id, stale), 0);
	CU_ASSERT_EQUAL(redis_cli(out, sizeof(out), "HSET mediad:analytics:media:%lld:%s ':' %s", id,
	                          gen[0] ? gen : "0", stale),
	                0);
	CU_ASSERT_EQUAL(total_views(id, NULL), 1);
	itest_delete_media(tok_a, id);
}

/* ---- POST /analytics and GET /projects/:id/analytics -------------------------------------------------- */

static long post_event(const char *tok, const char *body, struct itest_resp *keep)
{
	struct itest_resp r;
	long st;

	if (itest_json("POST", "/analytics", tok, body, &r) != 0)
		return -1;
	st = r.status;
	if (keep != NULL)
		*keep = r;
	else
		itest_resp_free(&r);
	return st;
}

/* GET /projects/:id/analytics as tok; returns the status. */
static long get_project_analytics(long long id, const char *tok, struct itest_resp *r)
{
	char path[64];

	snprintf(path, sizeof(path), "/projects/%lld/analytics", id);
	if (itest_json("GET", path, tok, NULL, r) != 0)
		return -1;
	return r->status;
}

/* Sum of the three totals of A's project id, or -1. */
static long long events_total(long long id)
{
	struct itest_resp r;
	long long n = -1;

	if (get_project_analytics(id, tok_a, &r) == 200) {
		struct json_object *t = itest_member(r.json, "totals");
		n = itest_member_int(t, "play") + itest_member_int(t, "click") +
		    itest_member_int(t, "impression");
	}
	itest_resp_free(&r);
	return n;
}

static void test_event_is_recorded_with_201(void)
{
	long long pid = itest_new_project(tok_a, "analytics", NULL);
	char body[128];
	struct itest_resp r;
	struct json_object *ev;
	time_t now = time(NULL), at;

	CU_ASSERT_FATAL(pid > 0);
	snprintf(body, sizeof(body), "{\"projectId\":%lld,\"eventType\":\"click\"}", pid);
	CU_ASSERT_EQUAL(post_event(tok_a, body, &r), 201);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "message") ? itest_jstr(&r, "message") : "", "Event recorded");
	ev = itest_member(r.json, "event");
	CU_ASSERT_TRUE(itest_matches(json_object_get_string(itest_member(ev, "id")), ITEST_UUID_RE));
	CU_ASSERT_EQUAL(itest_member_int(ev, "projectId"), pid);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(itest_member(ev, "eventType")), "click");
	at = itest_parse_rfc3339_utc(json_object_get_string(itest_member(ev, "createdAt")));
	CU_ASSERT_TRUE(at != -1 && at >= now - 60 && at <= now + 60);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(events_total(pid), 1);
	itest_delete_project(tok_a, pid);
}

static void test_wrongly_typed_event_fields_are_4xx_and_record_nothing(void)
{
	/* Each body is before, the project's id, after. */
	static const struct {
		const char *before, *after;
	} bad[] = {
		{ "{\"projectId\":\"", "\",\"eventType\":\"play\"}" }, /* the id as a string */
		{ "{\"projectId\":", ".5,\"eventType\":\"play\"}" },   /* a float */
		{ "{\"projectId\":", ",\"eventType\":\"PLAY\"}" },     /* types are lower case */
		{ "{\"projectId\":", ",\"eventType\":\"view\"}" },     /* an unknown type */
		{ "{\"projectId\":", ",\"eventType\":\"play \"}" },
		{ "{\"projectId\":", ",\"eventType\":5}" },
		{ "{\"projectId\":", ",\"eventType\":null}" },
		{ "{\"projectId\":", "}" },                /* no type */
		{ "{\"eventType\":\"play\",\"x\":", "}" }, /* no projectId */
		{ "{\"projectId\":null,\"eventType\":\"play\",\"x\":", "}" },
		{ "{\"projectId\":true,\"eventType\":\"play\",\"x\":", "}" },
		{ "{\"projectId\":[", "],\"eventType\":\"play\"}" },
		{ "{\"projectId\":99999999999999999999", ",\"eventType\":\"play\"}" }, /* past int64 */
		{ "[", "]" },
	};
	long long pid = itest_new_project(tok_a, "analytics", NULL);
	char body[256];
	struct itest_resp r;

	CU_ASSERT_FATAL(pid > 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "%s%lld%s", bad[i].before, pid, bad[i].after);
		CU_ASSERT_FATAL(post_event(tok_a, body, &r) >= 0);
		if (r.status < 400 || r.status > 499)
			fprintf(stderr, "\n  POST /analytics %s -> %ld (want 4xx)\n", body, r.status);
		CU_ASSERT_TRUE(r.status >= 400 && r.status <= 499);
		CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "error"));
		itest_resp_free(&r);
	}
	CU_ASSERT_EQUAL(events_total(pid), 0);
	itest_delete_project(tok_a, pid);
}

static void test_event_for_a_missing_project_is_404(void)
{
	long long pid = itest_new_project(tok_a, "analytics", NULL);
	char body[128];
	struct itest_resp r;

	CU_ASSERT_FATAL(pid > 0);
	itest_delete_project(tok_a, pid);
	snprintf(body, sizeof(body), "{\"projectId\":%lld,\"eventType\":\"play\"}", pid);
	CU_ASSERT_EQUAL(post_event(tok_a, body, &r), 404);
	itest_assert_error(&r, 404, "not_found");
	itest_resp_free(&r);
}

static void test_event_for_another_users_project_is_404_and_records_nothing(void)
{
	long long pid = itest_new_project(tok_a, "analytics", NULL);
	char body[128];
	struct itest_resp r;

	CU_ASSERT_FATAL(pid > 0);
	snprintf(body, sizeof(body), "{\"projectId\":%lld,\"eventType\":\"play\"}", pid);
	CU_ASSERT_EQUAL(post_event(tok_b, body, &r), 404);
	itest_assert_error(&r, 404, "not_found");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(events_total(pid), 0);
	itest_delete_project(tok_a, pid);
}

static void test_event_without_body_or_with_broken_json_is_400(void)
{
	static const char *const bad[] = { "",  "{", "{\"projectId\":1,", "not json", "{\"projectId\":1}}",
		                           NULL };
	struct itest_resp r;

	for (int i = 0; bad[i] != NULL; i++) {
		CU_ASSERT_FATAL(post_event(tok_a, bad[i], &r) >= 0);
		if (r.status != 400)
			fprintf(stderr, "\n  POST /analytics '%s' -> %ld (want 400)\n", bad[i], r.status);
		CU_ASSERT_EQUAL(r.status, 400);
		itest_resp_free(&r);
	}
	/* No body at all, not even a Content-Length: 0. */
	CU_ASSERT_FATAL(post_event(tok_a, NULL, &r) >= 0);
	CU_ASSERT_TRUE(r.status >= 400 && r.status <= 499);
	itest_resp_free(&r);
}

static void test_event_without_token_is_401(void)
{
	long long pid = itest_new_project(tok_a, "analytics", NULL);
	char body[128];
	struct itest_resp r;

	CU_ASSERT_FATAL(pid > 0);
	snprintf(body, sizeof(body), "{\"projectId\":%lld,\"eventType\":\"play\"}", pid);
	CU_ASSERT_EQUAL(post_event(NULL, body, &r), 401);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(events_total(pid), 0);
	itest_delete_project(tok_a, pid);
}

static void test_project_analytics_totals_and_utc_days(void)
{
	long long pid = itest_new_project(tok_a, "analytics", NULL);
	char body[128], today[11];
	const char *types[] = { "play", "play", "impression" };
	struct itest_resp r;
	struct json_object *t, *days, *d19, *d20, *dt;

	CU_ASSERT_FATAL(pid > 0);
	/* Two past days across a UTC midnight, by SQL; then three events through the API today. */
	insert_event(pid, "play", "2024-02-28T23:59:59.999Z");
	insert_event(pid, "click", "2024-02-29T00:00:00Z");
	insert_event(pid, "click", "2024-03-01T01:00:00+02:00");
	for (int i = 0; i < 3; i++) {
		snprintf(body, sizeof(body), "{\"projectId\":%lld,\"eventType\":\"%s\"}", pid, types[i]);
		CU_ASSERT_EQUAL(post_event(tok_a, body, NULL), 201);
	}
	today_utc(today);
	CU_ASSERT_EQUAL_FATAL(get_project_analytics(pid, tok_a, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "projectId"), pid);
	t = itest_member(r.json, "totals");
	CU_ASSERT_EQUAL(itest_member_int(t, "play"), 3);
	CU_ASSERT_EQUAL(itest_member_int(t, "click"), 2);
	CU_ASSERT_EQUAL(itest_member_int(t, "impression"), 1);
	days = itest_member(r.json, "per_day");
	d19 = itest_member(days, "2024-02-28");
	d20 = itest_member(days, "2024-02-29");
	dt = itest_member(days, today);
	CU_ASSERT_EQUAL(itest_member_int(d19, "play"), 1);
	CU_ASSERT_EQUAL(itest_member_int(d19, "click"), 0);
	CU_ASSERT_EQUAL(itest_member_int(d19, "impression"), 0);
	CU_ASSERT_EQUAL(itest_member_int(d20, "play"), 0);
	CU_ASSERT_EQUAL(itest_member_int(d20, "click"), 2);
	CU_ASSERT_EQUAL(itest_member_int(dt, "play"), 2);
	CU_ASSERT_EQUAL(itest_member_int(dt, "impression"), 1);
	CU_ASSERT_EQUAL(json_object_object_length(days), 3);
	itest_resp_free(&r);
	itest_delete_project(tok_a, pid);
}

static void test_project_analytics_of_another_users_project_is_404(void)
{
	long long pid = itest_new_project(tok_a, "analytics", NULL);
	struct itest_resp r;

	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(get_project_analytics(pid, tok_b, &r), 404);
	CU_ASSERT_PTR_NULL(itest_member(r.json, "totals"));
	itest_resp_free(&r);
	itest_delete_project(tok_a, pid);
}

/* ---- suite ---------------------------------------------------------------------------------------- */

static int suite_init(void)
{
	const char *url = getenv("DATABASE_URL");

	if (url == NULL) {
		fprintf(stderr, "test_analytics: DATABASE_URL is not set\n");
		return -1;
	}
	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "test_analytics: %s", PQerrorMessage(db));
		return -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/mediad-analytics-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(wav, sizeof(wav), "%s/tone.wav", dir);
	{
		const char *a[] = {
			"ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
			wav,      NULL
		};
		if (itest_run(a) != 0)
			return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	unlink(wav);
	if (dir[0] != '\0')
		rmdir(dir);
	if (db != NULL)
		PQfinish(db);
	db = NULL;
	return 0;
}

int main(void)
{
	CU_pSuite s;

	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("analytics", suite_init, suite_clean);
	CU_add_test(s, "two users register and log in", test_setup_users);
	CU_add_test(s, "view with the owner's token is 201 with the view",
	            test_view_with_owner_token_is_201_with_the_view);
	CU_add_test(s, "view with a stream signature and no token is 201",
	            test_view_with_stream_signature_and_no_token_is_201);
	CU_add_test(s, "view without token or signature is 401", test_view_without_token_or_signature_is_401);
	CU_add_test(s, "view with a tampered signature is 403", test_view_with_tampered_signature_is_403);
	CU_add_test(s, "view with the link of another media is 403",
	            test_view_with_link_of_another_media_is_403);
	CU_add_test(s, "view with another user's token is 404", test_view_with_another_users_token_is_404);
	CU_add_test(s, "view behind the trusted proxy logs the forwarded client",
	            test_view_behind_trusted_proxy_logs_forwarded_client);
	CU_add_test(s, "view from an untrusted address ignores X-Forwarded-For",
	            test_view_from_untrusted_address_ignores_forwarded_for);
	CU_add_test(s, "view over the limit is 429 with rate-limit headers",
	            test_view_over_the_limit_is_429_with_rate_limit_headers);
	CU_add_test(s, "limit of one ip leaves another ip alone",
	            test_limit_of_one_ip_leaves_another_ip_alone);
	CU_add_test(s, "limit of one media leaves another media alone",
	            test_limit_of_one_media_leaves_another_media_alone);
	CU_add_test(s, "analytics of another user's media is 404",
	            test_analytics_of_another_users_media_is_404);
	CU_add_test(s, "views per day are UTC days in ascending order",
	            test_views_per_day_are_utc_days_in_ascending_order);
	CU_add_test(s, "range limits days, views and unique ips",
	            test_range_limits_days_views_and_unique_ips);
	CU_add_test(s, "bad dates are 400", test_bad_dates_are_400);
	CU_add_test(s, "answer is served from the cache", test_answer_is_served_from_the_cache);
	CU_add_test(s, "posted view drops the cached answer", test_posted_view_drops_the_cached_answer);
	CU_add_test(s, "posted view drops cached ranged answers too",
	            test_posted_view_drops_cached_ranged_answers_too);
	CU_add_test(s, "a deleted media has no cached analytics", test_deleted_media_has_no_cached_analytics);
	CU_add_test(s, "a late reader cannot cache a stale answer",
	            test_a_late_reader_cannot_cache_a_stale_answer);
	CU_add_test(s, "event is recorded with 201", test_event_is_recorded_with_201);
	CU_add_test(s, "wrongly typed event fields are 4xx and record nothing",
	            test_wrongly_typed_event_fields_are_4xx_and_record_nothing);
	CU_add_test(s, "event for a missing project is 404", test_event_for_a_missing_project_is_404);
	CU_add_test(s, "event for another user's project is 404 and records nothing",
	            test_event_for_another_users_project_is_404_and_records_nothing);
	CU_add_test(s, "event without body or with broken JSON is 400",
	            test_event_without_body_or_with_broken_json_is_400);
	CU_add_test(s, "event without a token is 401", test_event_without_token_is_401);
	CU_add_test(s, "project analytics: totals and UTC days", test_project_analytics_totals_and_utc_days);
	CU_add_test(s, "project analytics of another user's project is 404",
	            test_project_analytics_of_another_users_project_is_404);
	return itest_run_all();
}
