/* test_analytics.c: media views (who may log one, which address, rate limit), view analytics and
 * its cache, project events, and the exactness of their counters (any range, concurrent writers,
 * bulk loads) against the real stack. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "store/statements.h"

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

/* ---- the counters: exact for any range, under concurrency, O(days) to read (issue 13) ------------- */

/* Days 0 .. RANDOM_DAYS - 1 from 2023-03-01 (UTC), where the random views of these tests go. */
#define RANDOM_DAYS 30
/* The shards of schema/006 (pg_backend_pid() % 16): a read sums at most this many rows a day. */
#define COUNTER_SHARDS 16

/* xorshift64*: the random views of a test, reproducible from the seed it prints when it fails. */
static uint64_t rnd_state = 1;

static unsigned rnd_below(unsigned n)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (unsigned)((rnd_state * 2685821657736338717ULL) >> 33) % n;
}

static uint64_t rnd_seed(void)
{
	rnd_state = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	if (rnd_state == 0)
		rnd_state = 1;
	return rnd_state;
}

/* Day d (may be outside 0 .. RANDOM_DAYS - 1) as "YYYY-MM-DD"; with sec >= 0, that second of the
 * day as an RFC 3339 UTC time instead. */
static void random_day(int d, int sec, char out[32])
{
	struct tm tm = { .tm_year = 123, .tm_mon = 2, .tm_mday = 1 };
	time_t t = timegm(&tm) + (time_t)d * 86400 + (sec > 0 ? sec : 0);

	gmtime_r(&t, &tm);
	strftime(out, 32, sec >= 0 ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d", &tm);
}

/* True when the error of res is one a retry cures (deadlock, serialization failure). */
static bool retryable(const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return st != NULL && (strcmp(st, "40P01") == 0 || strcmp(st, "40001") == 0);
}

/* Runs q on c; true on success. *retry tells a failure a retry may cure, which is not printed. */
static bool pq_ok(PGconn *c, const char *q, int n, const char *const *params, bool *retry)
{
	PGresult *res = PQexecParams(c, q, n, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	*retry = !ok && retryable(res);
	if (!ok && !*retry)
		fprintf(stderr, "\n  sql: %s: %s\n", q, PQerrorMessage(c));
	PQclear(res);
	return ok;
}

/* Runs one INSERT of n rows on c: views of media id from ips[] at ats[], or events of project id
 * of types ips[] at ats[]. */
static bool insert_rows(PGconn *c, long long id, bool events, char (*ips)[24], char (*ats)[32], unsigned n,
                        bool *retry)
{
	char sid[32], a[4096], b[4096];
	const char *p[3] = { sid, a, b };
	size_t la = 1, lb = 1;

	snprintf(sid, sizeof(sid), "%lld", id);
	a[0] = '{';
	b[0] = '{';
	for (unsigned i = 0; i < n && la < sizeof(a) - 32 && lb < sizeof(b) - 40; i++) {
		la += (size_t)snprintf(a + la, sizeof(a) - la, "%s%s", i ? "," : "", ips[i]);
		lb += (size_t)snprintf(b + lb, sizeof(b) - lb, "%s%s", i ? "," : "", ats[i]);
	}
	snprintf(a + la, sizeof(a) - la, "}");
	snprintf(b + lb, sizeof(b) - lb, "}");
	return events ? pq_ok(c,
	                      "INSERT INTO events (project_id, event_type, created_at) "
	                      "SELECT $1, unnest($2::text[]), unnest($3::timestamptz[])",
	                      3, p, retry) :
	                pq_ok(c,
	                      "INSERT INTO views (media_id, ip, viewed_at) "
	                      "SELECT $1, unnest($2::inet[]), unnest($3::timestamptz[])",
	                      3, p, retry);
}

/*
 * Inserts rows on c, at random: views of media id (ips 10.9.0.1 up to nips, days 0 .. ndays - 1,
 * in no order) or, with events, events of project id. Half the time one row; 3 in 8 a statement
 * of 2 to 9 rows (counted one by one, schema/006); 7 in 64 one of 65 to 100 (counted by set
 * queries); 1 in 64 a transaction of 80 one-row statements of about 70 other ips (past 64 ips,
 * the table lock instead of one per ip). Retries deadlocks between statements of several rows.
 * Returns the rows inserted, or -1.
 */
static int random_insert(PGconn *c, long long id, unsigned nips, unsigned ndays, bool events)
{
	static const char *const types[] = { "play", "click", "impression" };
	char ips[100][24], ats[100][32];
	unsigned pick = rnd_below(64), rows = 1, i;
	bool many = pick == 63, retry = true, end_retry;

	if (pick >= 32 && pick < 56)
		rows = 2 + rnd_below(8);
	else if (pick >= 56 && pick < 63)
		rows = 65 + rnd_below(36);
	else if (many)
		rows = 80;
	for (i = 0; i < rows; i++) {
		random_day((int)rnd_below(ndays), (int)rnd_below(86400), ats[i]);
		if (events)
			snprintf(ips[i], sizeof(ips[i]), "%s", types[rnd_below(3)]);
		else if (many)
			snprintf(ips[i], sizeof(ips[i]), "10.9.1.%u", 1 + rnd_below(250));
		else
			snprintf(ips[i], sizeof(ips[i]), "10.9.0.%u", 1 + rnd_below(nips));
	}
	for (int tries = 0; retry && tries < 20; tries++) {
		bool ok = true;

		if (!many) {
			if (insert_rows(c, id, events, ips, ats, rows, &retry))
				return (int)rows;
			continue;
		}
		if (!pq_ok(c, "BEGIN", 0, NULL, &retry))
			return -1;
		for (i = 0; ok && i < rows; i++)
			ok = insert_rows(c, id, events, ips + i, ats + i, 1, &retry);
		if (!pq_ok(c, ok ? "COMMIT" : "ROLLBACK", 0, NULL, &end_retry))
			return -1;
		if (ok)
			return (int)rows;
	}
	if (retry)
		fprintf(stderr, "\n  %s: still deadlocked after 20 tries\n", events ? "events" : "views");
	return -1;
}

/* The one number q (with $1 id, $2 from, $3 to: NULL for none) answers. */
static long long sql_count(const char *q, long long id, const char *from, const char *to)
{
	char sid[32];
	const char *p[3] = { sid, from, to };
	PGresult *res;
	long long n = -1;

	snprintf(sid, sizeof(sid), "%lld", id);
	res = PQexecParams(db, q, 3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "\n  sql: %s: %s\n", q, PQerrorMessage(db));
	PQclear(res);
	return n;
}

#define VIEWS_IN_RANGE                                                                \
	"FROM views WHERE media_id = $1 "                                             \
	"AND ($2::date IS NULL OR (viewed_at AT TIME ZONE 'UTC')::date >= $2::date) " \
	"AND ($3::date IS NULL OR (viewed_at AT TIME ZONE 'UTC')::date <= $3::date)"

/*
 * GET /media/:id/analytics over [from, to] (NULL: open) agrees with counting the views themselves:
 * total_views, unique_ips, and every day of views_per_day. Prints the first difference.
 */
static bool analytics_agree(long long id, const char *from, const char *to)
{
	char q[64] = "", sid[32];
	const char *p[3] = { sid, from, to };
	struct itest_resp r;
	struct json_object *days;
	long long total, uniq, want_total, want_uniq;
	PGresult *res;
	bool ok;
	int i;

	if (from != NULL || to != NULL)
		snprintf(q, sizeof(q), "%s%s%s%s%s", from ? "from=" : "", from ? from : "",
		         from && to ? "&" : "", to ? "to=" : "", to ? to : "");
	if (get_analytics(id, q[0] ? q : NULL, tok_a, &r) != 200) {
		fprintf(stderr, "\n  GET analytics?%s -> %ld\n", q, r.status);
		itest_resp_free(&r);
		return false;
	}
	total = itest_member_int(r.json, "total_views");
	uniq = itest_member_int(r.json, "unique_ips");
	days = itest_member(r.json, "views_per_day");
	want_total = sql_count("SELECT count(*) " VIEWS_IN_RANGE, id, from, to);
	want_uniq = sql_count("SELECT count(DISTINCT ip) " VIEWS_IN_RANGE, id, from, to);
	ok = total == want_total && uniq == want_uniq;
	if (!ok)
		fprintf(stderr,
		        "\n  analytics?%s: total_views %lld unique_ips %lld, the views say %lld and %lld\n",
		        q, total, uniq, want_total, want_uniq);
	snprintf(sid, sizeof(sid), "%lld", id);
	res = PQexecParams(
	        db,
	        "SELECT to_char((viewed_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'), count(*) " VIEWS_IN_RANGE
	        " GROUP BY 1",
	        3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || days == NULL ||
	    json_object_object_length(days) != PQntuples(res)) {
		fprintf(stderr, "\n  analytics?%s: %d days, the views have %d\n", q,
		        days ? json_object_object_length(days) : -1, PQntuples(res));
		ok = false;
	}
	for (i = 0; ok && i < PQntuples(res); i++) {
		if (itest_member_int(days, PQgetvalue(res, i, 0)) !=
		    strtoll(PQgetvalue(res, i, 1), NULL, 10)) {
			fprintf(stderr, "\n  analytics?%s: %s has %lld views, the views say %s\n", q,
			        PQgetvalue(res, i, 0), itest_member_int(days, PQgetvalue(res, i, 0)),
			        PQgetvalue(res, i, 1));
			ok = false;
		}
	}
	PQclear(res);
	itest_resp_free(&r);
	return ok;
}

/* Every range of days lo .. hi (and the open ones) agrees with the views; the number that did not. */
static int ranges_disagreeing(long long id, int lo, int hi)
{
	char f[32], t[32];
	int bad = 0;

	bad += !analytics_agree(id, NULL, NULL);
	for (int i = lo; i <= hi; i++) {
		random_day(i, -1, f);
		bad += !analytics_agree(id, f, NULL);
		bad += !analytics_agree(id, NULL, f);
		for (int j = i; j <= hi; j++) {
			random_day(j, -1, t);
			bad += !analytics_agree(id, f, t);
		}
	}
	return bad;
}

/* GET /projects/:id/analytics agrees with counting the events themselves, day by day. */
static bool project_analytics_agree(long long pid)
{
	static const char *const names[] = { "play", "click", "impression" };
	char sid[32];
	const char *p[1] = { sid };
	struct itest_resp r;
	struct json_object *days, *totals;
	long long sum[3] = { 0, 0, 0 };
	PGresult *res;
	bool ok;

	snprintf(sid, sizeof(sid), "%lld", pid);
	if (get_project_analytics(pid, tok_a, &r) != 200) {
		itest_resp_free(&r);
		return false;
	}
	days = itest_member(r.json, "per_day");
	totals = itest_member(r.json, "totals");
	res = PQexecParams(
	        db,
	        "SELECT to_char((created_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'), "
	        "count(*) FILTER (WHERE event_type = 'play'), count(*) FILTER (WHERE event_type = 'click'), "
	        "count(*) FILTER (WHERE event_type = 'impression') FROM events WHERE project_id = $1 GROUP BY 1",
	        1, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && days != NULL &&
	     json_object_object_length(days) == PQntuples(res);
	for (int i = 0; ok && i < PQntuples(res); i++) {
		struct json_object *d = itest_member(days, PQgetvalue(res, i, 0));

		for (int k = 0; k < 3; k++) {
			long long want = strtoll(PQgetvalue(res, i, k + 1), NULL, 10);

			sum[k] += want;
			if (itest_member_int(d, names[k]) != want) {
				fprintf(stderr, "\n  project %lld, %s: %s %lld, the events say %lld\n", pid,
				        PQgetvalue(res, i, 0), names[k], itest_member_int(d, names[k]), want);
				ok = false;
			}
		}
	}
	for (int k = 0; ok && k < 3; k++)
		ok = itest_member_int(totals, names[k]) == sum[k];
	PQclear(res);
	itest_resp_free(&r);
	return ok;
}

/* Every range of media id over days [from, to] agrees with count(DISTINCT) over views, and the
 * project's analytics with its events; then both are deleted. seed is printed on a disagreement. */
static void assert_agree_and_delete(long long id, long long pid, int from, int to, uint64_t seed)
{
	int bad = ranges_disagreeing(id, from, to);

	if (bad != 0)
		fprintf(stderr, "\n  %d ranges disagree (seed %llu)\n", bad, (unsigned long long)seed);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(project_analytics_agree(pid));
	itest_delete_media(tok_a, id);
	itest_delete_project(tok_a, pid);
}

/*
 * Views inserted by SQL in random statements (one row, a few rows, many rows), days out of
 * order: for every range, the answer is what count(DISTINCT ip) over the views themselves says.
 */
static void test_unique_ips_of_every_range_match_a_count_of_the_views(void)
{
	long long id = new_media(tok_a), pid = itest_new_project(tok_a, "analytics", NULL);
	uint64_t seed = rnd_seed();
	int n = 0, k;

	CU_ASSERT_FATAL(id > 0 && pid > 0);
	/* At least once: a transaction of one-row statements of more than 64 ips (the table lock). */
	sql("BEGIN", 0, NULL);
	for (k = 0; k < 80; k++) {
		char ip[32], at[32];

		snprintf(ip, sizeof(ip), "10.9.2.%d", 1 + k);
		random_day((int)rnd_below(RANDOM_DAYS), (int)rnd_below(86400), at);
		insert_view(id, ip, at);
	}
	sql("COMMIT", 0, NULL);
	n = 80;
	while (n < 1000) {
		k = random_insert(db, id, 25, RANDOM_DAYS, false);
		CU_ASSERT_FATAL(k > 0);
		n += k;
		CU_ASSERT_FATAL(random_insert(db, pid, 0, RANDOM_DAYS, true) > 0);
	}
	/* Past the data on both sides too. */
	assert_agree_and_delete(id, pid, -1, RANDOM_DAYS, seed);
}

/*
 * Eight connections insert views of one media (30 ips over 20 days, so that two of them often add
 * days of one ip at once) and events of one project at the same time: every count is exact
 * afterwards.
 */
static void test_concurrent_writers_of_one_media_count_exactly(void)
{
	enum { KIDS = 8, STATEMENTS = 100, IPS = 30, DAYS = 20 };
	long long id = new_media(tok_a), pid = itest_new_project(tok_a, "analytics", NULL);
	uint64_t seed = rnd_seed();
	pid_t kids[KIDS];
	int i, failed = 0;

	CU_ASSERT_FATAL(id > 0 && pid > 0);
	for (i = 0; i < KIDS; i++) {
		kids[i] = fork();
		CU_ASSERT_FATAL(kids[i] >= 0);
		if (kids[i] == 0) {
			PGconn *c = PQconnectdb(getenv("DATABASE_URL"));
			int n = 0;

			rnd_state = seed + (uint64_t)i * 7919;
			while (PQstatus(c) == CONNECTION_OK && n < STATEMENTS &&
			       random_insert(c, id, IPS, DAYS, false) > 0 &&
			       random_insert(c, pid, 0, DAYS, true) > 0)
				n++;
			PQfinish(c);
			_exit(n == STATEMENTS ? 0 : 1);
		}
	}
	for (i = 0; i < KIDS; i++) {
		int st = 0;

		while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
			;
		failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CU_ASSERT_EQUAL(failed, 0);
	assert_agree_and_delete(id, pid, 0, DAYS - 1, seed);
}

/* Four clients post views of one media at once, each from an address of its own and one they
 * share: all 80 are counted, from 5 addresses. */
static void test_concurrent_posted_views_are_all_counted(void)
{
	enum { KIDS = 4, OWN = 15, SHARED = 5 };
	long long id = new_media(tok_a);
	pid_t kids[KIDS];
	struct itest_resp r;
	char today[11];
	int i, failed = 0;

	CU_ASSERT_FATAL(id > 0);
	for (i = 0; i < KIDS; i++) {
		kids[i] = fork();
		CU_ASSERT_FATAL(kids[i] >= 0);
		if (kids[i] == 0) {
			char own[32];
			int ok = 0;

			snprintf(own, sizeof(own), "198.51.100.%d", 50 + i);
			for (int k = 0; k < OWN + SHARED; k++)
				ok += post_view(id, NULL, tok_a, k % 4 == 0 ? "198.51.100.70" : own, NULL,
				                NULL) == 201;
			_exit(ok == OWN + SHARED ? 0 : 1);
		}
	}
	for (i = 0; i < KIDS; i++) {
		int st = 0;

		while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
			;
		failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CU_ASSERT_EQUAL(failed, 0);
	today_utc(today);
	CU_ASSERT_EQUAL_FATAL(get_analytics(id, NULL, tok_a, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total_views"), KIDS * (OWN + SHARED));
	CU_ASSERT_EQUAL(itest_member_int(r.json, "unique_ips"), KIDS + 1);
	CU_ASSERT_EQUAL(itest_member_int(itest_member(r.json, "views_per_day"), today),
	                KIDS * (OWN + SHARED));
	itest_resp_free(&r);
	itest_delete_media(tok_a, id);
}

/* Rows the plan read from tables and indexes: for each scan, its rows and those its filter
 * dropped, times its loops. */
static double plan_rows_read(struct json_object *plan)
{
	struct json_object *kids = itest_member(plan, "Plans");
	double n = 0;

	if (itest_member(plan, "Relation Name") != NULL)
		n = (json_object_get_double(itest_member(plan, "Actual Rows")) +
		     json_object_get_double(itest_member(plan, "Rows Removed by Filter"))) *
		    json_object_get_double(itest_member(plan, "Actual Loops"));
	for (size_t i = 0; kids != NULL && i < json_object_array_length(kids); i++)
		n += plan_rows_read(json_object_array_get_idx(kids, i));
	return n;
}

/*
 * 1,000 ips each viewing on 10 days (10,000 distinct ip-days, in one statement: the set path): the
 * unique count of a 6-day range reads at most shards x (6 + 6 x 5 / 2) rows (schema/006), not the
 * 6,000 ip-days in range.
 */
static void test_unique_ips_of_a_range_read_days_not_ip_days(void)
{
	long long id = new_media(tok_a);
	char sid[32], from[32], to[32], first[32], q[128], explain[1024];
	const char *p[3] = { sid, from, to };
	const char *sql_text = NULL;
	struct json_object *plan = NULL;
	struct itest_resp r;
	PGresult *res;
	double rows = -1;

	CU_ASSERT_FATAL(id > 0);
	for (int i = 0; i < store_statements_count; i++)
		if (strcmp(store_statements[i].name, "views_unique") == 0)
			sql_text = store_statements[i].sql;
	CU_ASSERT_PTR_NOT_NULL_FATAL(sql_text);
	snprintf(sid, sizeof(sid), "%lld", id);
	random_day(0, 3600, first);
	p[1] = first;
	sql("INSERT INTO views (media_id, ip, viewed_at) SELECT $1, '10.30.0.0'::inet + i, "
	    "$2::timestamptz + d * interval '1 day' FROM generate_series(0, 999) i, generate_series(0, 9) d",
	    2, p);
	random_day(2, -1, from);
	random_day(7, -1, to);
	p[1] = from;
	snprintf(explain, sizeof(explain), "EXPLAIN (ANALYZE, FORMAT JSON) %s", sql_text);
	res = PQexecParams(db, explain, 3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		plan = json_tokener_parse(PQgetvalue(res, 0, 0));
	else
		fprintf(stderr, "\n  explain: %s\n", PQerrorMessage(db));
	PQclear(res);
	if (plan != NULL && json_object_is_type(plan, json_type_array))
		rows = plan_rows_read(itest_member(json_object_array_get_idx(plan, 0), "Plan"));
	json_object_put(plan);
	if (rows < 0 || rows > COUNTER_SHARDS * (6 + 15))
		fprintf(stderr, "\n  the unique count of 6 days read %.0f rows\n", rows);
	CU_ASSERT_TRUE(rows >= 0 && rows <= COUNTER_SHARDS * (6 + 15));
	snprintf(q, sizeof(q), "from=%s&to=%s", from, to);
	CU_ASSERT_EQUAL_FATAL(get_analytics(id, q, tok_a, &r), 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "unique_ips"), 1000);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total_views"), 6000);
	itest_resp_free(&r);
	itest_delete_media(tok_a, id);
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
	CU_add_test(s, "unique ips of every range match a count of the views",
	            test_unique_ips_of_every_range_match_a_count_of_the_views);
	CU_add_test(s, "concurrent writers of one media count exactly",
	            test_concurrent_writers_of_one_media_count_exactly);
	CU_add_test(s, "concurrent posted views are all counted",
	            test_concurrent_posted_views_are_all_counted);
	CU_add_test(s, "unique ips of a range read days, not ip-days",
	            test_unique_ips_of_a_range_read_days_not_ip_days);
	return itest_run_all();
}
