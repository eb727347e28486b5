/* test_request.c: unit tests of http/request.c: the body read deadline (http_read, http_read_body)
 * and the path prefix (http_request_init: req->path and req->base). */
#include "config.h"

#include "http/request.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "core/config.h"
#include "unit.h"

/*
 * A transport whose read_within hands out body bytes and records the wait it was given. When
 * timed_out is set it answers -2, as fcgi_io does when SO_RCVTIMEO expires.
 */
struct fake_io {
	const char *body;
	size_t len, off;
	int calls;
	int last_timeout_ms;
	bool timed_out;
	char content_length[32];
};

static ssize_t fake_read(void *ctx, char *buf, size_t n)
{
	struct fake_io *f = ctx;
	size_t k = f->len - f->off < n ? f->len - f->off : n;

	memcpy(buf, f->body + f->off, k);
	f->off += k;
	return (ssize_t)k;
}

static ssize_t fake_read_within(void *ctx, char *buf, size_t n, int timeout_ms)
{
	struct fake_io *f = ctx;

	f->calls++;
	f->last_timeout_ms = timeout_ms;
	if (f->timed_out)
		return -2;
	return fake_read(ctx, buf, n);
}

static int fake_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return 0;
}

static const char *fake_param(void *ctx, const char *name)
{
	struct fake_io *f = ctx;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "POST";
	if (strcmp(name, "REQUEST_URI") == 0)
		return "/auth/login";
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return f->content_length;
	return NULL;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A request over f with body_read_timeout_ms = 10000 and body_min_rate_bps = 1000. */
struct fixture {
	struct config cfg;
	struct app app;
	struct fake_io f;
	struct http_io io;
	struct http_request req;
};

static void fixture_init(struct fixture *x, const char *body, bool within)
{
	memset(x, 0, sizeof(*x));
	CU_ASSERT_EQUAL_FATAL(config_defaults(&x->cfg), 0);
	x->cfg.body_read_timeout_ms = 10000;
	x->cfg.body_min_rate_bps = 1000;
	x->app.cfg = &x->cfg;
	x->f.body = body;
	x->f.len = strlen(body);
	snprintf(x->f.content_length, sizeof(x->f.content_length), "%zu", x->f.len);
	x->io.ctx = &x->f;
	x->io.read = fake_read;
	x->io.write = fake_write;
	x->io.param = fake_param;
	x->io.read_within = within ? fake_read_within : NULL;
	CU_ASSERT_EQUAL_FATAL(http_request_init(&x->req, &x->app, &x->cfg, &x->io), MERR_OK);
}

static void fixture_free(struct fixture *x)
{
	http_request_free(&x->req);
	config_free(&x->cfg);
}

static void test_first_read_waits_at_most_body_read_timeout(void)
{
	struct fixture x;
	char buf[64];

	fixture_init(&x, "{\"a\":1}", true);
	CU_ASSERT_EQUAL(http_read(&x.req, buf, sizeof(buf)), 7);
	CU_ASSERT_EQUAL(x.f.calls, 1);
	CU_ASSERT_EQUAL(x.f.last_timeout_ms, 10000);
	CU_ASSERT_TRUE(x.req.body_start_ms > 0);
	fixture_free(&x);
}

static void test_wait_shrinks_to_what_the_minimum_rate_leaves(void)
{
	struct fixture x;
	char buf[64];

	/* 15 s after the first read, with 7000 bytes in: due at 10 s + 7000 B / 1000 B/s = 17 s. */
	fixture_init(&x, "more", true);
	x.req.body_start_ms = now_ms() - 15000;
	x.req.body_read = 7000;
	CU_ASSERT_EQUAL(http_read(&x.req, buf, sizeof(buf)), 4);
	CU_ASSERT_TRUE(x.f.last_timeout_ms > 1500 && x.f.last_timeout_ms <= 2000);
	fixture_free(&x);
}

static void test_a_body_below_the_minimum_rate_is_refused_without_a_read(void)
{
	struct fixture x;
	struct buf out = BUF_INIT;

	/* 12 s in, 5 bytes read: due at 10.005 s, past. Even with bytes waiting, no more are read. */
	fixture_init(&x, "{\"a\":1}", true);
	x.req.body_start_ms = now_ms() - 12000;
	x.req.body_read = 5;
	CU_ASSERT_EQUAL(http_read_body(&x.req, 1024, &out), MERR_REQUEST_TIMEOUT);
	CU_ASSERT_EQUAL(x.f.calls, 0);
	CU_ASSERT_TRUE(x.req.body_timed_out);
	buf_free(&out);
	fixture_free(&x);
}

static void test_a_transport_timeout_is_a_request_timeout_and_stays_one(void)
{
	struct fixture x;
	struct buf out = BUF_INIT;
	char buf[8];

	fixture_init(&x, "{\"a\":1}", true);
	x.f.timed_out = true;
	CU_ASSERT_EQUAL(http_read_body(&x.req, 1024, &out), MERR_REQUEST_TIMEOUT);
	CU_ASSERT_EQUAL(x.f.calls, 1);
	/* The body is left unread: later reads do not wait again. */
	x.f.timed_out = false;
	CU_ASSERT_EQUAL(http_read(&x.req, buf, sizeof(buf)), -2);
	CU_ASSERT_EQUAL(x.f.calls, 1);
	buf_free(&out);
	fixture_free(&x);
}

static void test_without_a_minimum_rate_only_the_idle_bound_applies(void)
{
	struct fixture x;
	char buf[64];

	fixture_init(&x, "late", true);
	x.cfg.body_min_rate_bps = 0;
	x.req.body_start_ms = now_ms() - 3600 * 1000;
	CU_ASSERT_EQUAL(http_read(&x.req, buf, sizeof(buf)), 4);
	CU_ASSERT_EQUAL(x.f.last_timeout_ms, 10000);
	fixture_free(&x);
}

static void test_a_transport_without_read_within_is_read_as_before(void)
{
	struct fixture x;
	struct buf out = BUF_INIT;

	fixture_init(&x, "{\"a\":1}", false);
	x.req.body_start_ms = now_ms() - 3600 * 1000;
	CU_ASSERT_EQUAL(http_read_body(&x.req, 1024, &out), MERR_OK);
	CU_ASSERT_EQUAL(out.len, 7);
	buf_free(&out);
	fixture_free(&x);
}

static void test_the_408_message_names_both_limits(void)
{
	struct fixture x;
	char msg[256];

	fixture_init(&x, "", true);
	x.req.body_read = 42;
	http_body_too_slow(&x.req, msg, sizeof(msg));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "42 bytes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "10000 ms"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "1000 bytes/s"));
	fixture_free(&x);
}

/* The CGI variables of one request as a web server passes them; NULL: not passed. */
struct cgi_vars {
	const char *script_name, *path_info, *request_uri;
};

static const char *cgi_param(void *ctx, const char *name)
{
	const struct cgi_vars *v = ctx;

	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "GET";
	if (strcmp(name, "SCRIPT_NAME") == 0)
		return v->script_name;
	if (strcmp(name, "PATH_INFO") == 0)
		return v->path_info;
	if (strcmp(name, "REQUEST_URI") == 0)
		return v->request_uri;
	return NULL;
}

/* One row: what the web server passed, base_path, and the path routed on and the prefix kept. */
struct prefix_case {
	const char *what;
	struct cgi_vars v;
	const char *base_path;
	const char *path, *base;
};

static const struct prefix_case prefix_cases[] = {
	/* lighttpd, fastcgi.server "/" with fix-root-scriptname (fcgi-conf/lighttpd.conf) */
	{ "lighttpd at the root",
	  { "", "/media/7/stream", "/media/7/stream?expires=1&sig=x" },
	  "",
	  "/media/7/stream",
	  "" },
	/* lighttpd without fix-root-scriptname: SCRIPT_NAME is the whole path */
	{ "lighttpd, SCRIPT_NAME the whole path", { "/media/7", NULL, "/media/7" }, "", "/media/7", "" },
	/* Apache, <Location "/"> + FcgidWrapper virtual (fcgi-conf/apache-fcgid.conf): the URL is
	 * mapped onto the document root, SCRIPT_NAME its first segment */
	{ "apache-fcgid virtual wrapper",
	  { "/media", "/7/stream", "/media/7/stream" },
	  "",
	  "/media/7/stream",
	  "" },
	/* Apache + mod_proxy_fcgi: SCRIPT_NAME the path */
	{ "apache-proxy-fcgi", { "/auth/login", NULL, "/auth/login" }, "", "/auth/login", "" },
	/* shared host: .htaccess rewrites /~u/api/... onto /~u/api/mediad.fcgi */
	{ "rewritten onto the script",
	  { "/~u/api/mediad.fcgi", NULL, "/~u/api/media/7/stream?a=b" },
	  "",
	  "/media/7/stream",
	  "/~u/api" },
	{ "rewritten onto the script with PATH_INFO",
	  { "/~u/api/mediad.fcgi", "/auth/login", "/~u/api/auth/login" },
	  "",
	  "/auth/login",
	  "/~u/api" },
	{ "rewritten, the prefix itself", { "/~u/api/mediad.fcgi", NULL, "/~u/api" }, "", "/", "/~u/api" },
	{ "rewritten, the prefix with its slash",
	  { "/~u/api/mediad.fcgi", NULL, "/~u/api/" },
	  "",
	  "/",
	  "/~u/api" },
	{ "rewritten, percent-encoded path",
	  { "/~u/api/mediad.fcgi", NULL, "/%7Eu/api/healthz" },
	  "",
	  "/healthz",
	  "/~u/api" },
	{ "a folder that is not a plain path is no prefix",
	  { "/my api/mediad.fcgi", NULL, "/my%20api/jobs/1" },
	  "",
	  "/my api/jobs/1",
	  "" },
	/* a guessed prefix must never make our root-relative links protocol-relative */
	{ "a folder starting with // is no prefix",
	  { "//evil.com/b", NULL, "//evil.com/a/../b" },
	  "",
	  "//evil.com/a/../b",
	  "" },
	{ "a script under // is no prefix",
	  { "//evil.com/mediad.fcgi", NULL, "//evil.com/jobs/1" },
	  "",
	  "//evil.com/jobs/1",
	  "" },
	{ "a folder with an empty segment is no prefix",
	  { "/~u//api/mediad.fcgi", NULL, "/~u//api/jobs/1" },
	  "",
	  "/~u//api/jobs/1",
	  "" },
	{ "a folder with a .. segment is no prefix",
	  { "/~u/../api/mediad.fcgi", NULL, "/~u/../api/jobs/1" },
	  "",
	  "/~u/../api/jobs/1",
	  "" },
	{ "an encoded .. segment is no prefix",
	  { "/~u/api/mediad.fcgi", NULL, "/~u/api/%2e%2e/api/jobs/1" },
	  "",
	  "/~u/api/../api/jobs/1",
	  "" },
	{ "a path with a . segment gives no prefix",
	  { "/~u/api/mediad.fcgi", NULL, "/~u/api/./jobs/1" },
	  "",
	  "/~u/api/./jobs/1",
	  "" },
	{ "a path ending in /.. gives no prefix",
	  { "/~u/api/mediad.fcgi", NULL, "/~u/api/x/.." },
	  "",
	  "/~u/api/x/..",
	  "" },
	{ "a path ending in /. gives no prefix",
	  { "/~u/api/mediad.fcgi", NULL, "/~u/api/." },
	  "",
	  "/~u/api/.",
	  "" },
	/* Apache + mod_proxy_fcgi resolves the path before SCRIPT_NAME is set */
	{ "apache-proxy-fcgi, an empty segment", { "/media/1", NULL, "/media//1" }, "", "/media//1", "" },
	{ "apache-proxy-fcgi, a .. segment", { "/a/c", NULL, "/a/b/../c" }, "", "/a/b/../c", "" },
	{ "apache-fcgid virtual wrapper, SCRIPT_NAME /media",
	  { "/media", "/1", "/media/1" },
	  "",
	  "/media/1",
	  "" },
	{ "lighttpd, SCRIPT_NAME empty, an empty segment", { "", "//1", "/media//1" }, "", "/media//1", "" },
	{ "the script called by its name",
	  { "/~u/api/mediad.fcgi", "/healthz", "/~u/api/mediad.fcgi/healthz" },
	  "",
	  "/~u/api/mediad.fcgi/healthz",
	  "" },
	{ "a script at the root gives no prefix", { "/mediad.fcgi", NULL, "/media/7" }, "", "/media/7", "" },
	{ "rewritten from outside the script's folder",
	  { "/~u/api/mediad.fcgi", NULL, "/other/x" },
	  "",
	  "/other/x",
	  "" },
	{ "a sibling folder is no prefix",
	  { "/~u/api/mediad.fcgi", NULL, "/~u/apix/healthz" },
	  "",
	  "/~u/apix/healthz",
	  "" },
	/* base_path set: it wins over SCRIPT_NAME */
	{ "base_path strips its prefix",
	  { "/~u/api/mediad.fcgi", NULL, "/~u/api/auth/me" },
	  "/~u/api",
	  "/auth/me",
	  "/~u/api" },
	{ "base_path with trailing slash",
	  { "", "/x", "/~u/api/auth/me" },
	  "/~u/api/",
	  "/auth/me",
	  "/~u/api" },
	{ "base_path without leading slash",
	  { NULL, NULL, "/~u/api/auth/me" },
	  "~u/api",
	  "/auth/me",
	  "/~u/api" },
	{ "base_path, a path a proxy already cut",
	  { "", "/auth/me", "/auth/me" },
	  "/api",
	  "/auth/me",
	  "/api" },
	{ "base_path is matched per segment",
	  { "", NULL, "/apix/auth/me" },
	  "/api",
	  "/apix/auth/me",
	  "/api" },
	{ "base_path, the prefix itself", { "", NULL, "/api" }, "/api", "/", "/api" },
	{ "base_path \"/\" is the root", { "", NULL, "/auth/me" }, "/", "/auth/me", "" },
	/* no REQUEST_URI: SCRIPT_NAME is the path */
	{ "no REQUEST_URI", { "/healthz", NULL, NULL }, "", "/healthz", "" },
};

static void test_the_prefix_is_taken_off_the_path_and_kept_for_links(void)
{
	size_t i;

	for (i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		struct cgi_vars v = c->v;
		struct http_io io = { .ctx = &v, .read = fake_read, .write = fake_write, .param = cgi_param };
		struct config cfg;
		struct app app;
		struct http_request req;
		bool ok;

		memset(&app, 0, sizeof(app));
		CU_ASSERT_EQUAL_FATAL(config_defaults(&cfg), 0);
		free(cfg.base_path);
		cfg.base_path = strdup(c->base_path);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cfg.base_path);
		app.cfg = &cfg;
		CU_ASSERT_EQUAL(http_request_init(&req, &app, &cfg, &io), MERR_OK);
		ok = strcmp(req.path, c->path) == 0 && strcmp(req.base, c->base) == 0;
		if (!ok)
			fprintf(stderr, "\n  %s: path \"%s\" base \"%s\", want \"%s\" \"%s\"\n", c->what,
			        req.path, req.base, c->path, c->base);
		CU_ASSERT_TRUE(ok);
		http_request_free(&req);
		config_free(&cfg);
	}
}

static void test_a_prefix_that_does_not_fit_is_a_bad_request(void)
{
	static char sn[HTTP_MAX_PATH];
	struct cgi_vars v = { sn, NULL, NULL };
	struct http_io io = { .ctx = &v, .read = fake_read, .write = fake_write, .param = cgi_param };
	char uri[HTTP_MAX_PATH];
	struct config cfg;
	struct app app;
	struct http_request req;

	/* A prefix of 600 letters: past HTTP_MAX_BASE. */
	memset(sn, 0, sizeof(sn));
	sn[0] = '/';
	memset(sn + 1, 'a', 600);
	snprintf(sn + 601, sizeof(sn) - 601, "/mediad.fcgi");
	snprintf(uri, sizeof(uri), "%.601s/healthz", sn);
	v.request_uri = uri;
	memset(&app, 0, sizeof(app));
	CU_ASSERT_EQUAL_FATAL(config_defaults(&cfg), 0);
	app.cfg = &cfg;
	CU_ASSERT_EQUAL(http_request_init(&req, &app, &cfg, &io), MERR_BAD_REQUEST);
	CU_ASSERT_STRING_EQUAL(req.base, "");
	http_request_free(&req);
	config_free(&cfg);
}

static const struct unit_test tests[] = {
	{ "the first read waits at most body_read_timeout_ms",
	  test_first_read_waits_at_most_body_read_timeout },
	{ "the wait shrinks to what the minimum rate leaves",
	  test_wait_shrinks_to_what_the_minimum_rate_leaves },
	{ "a body below the minimum rate is refused without a read",
	  test_a_body_below_the_minimum_rate_is_refused_without_a_read },
	{ "a transport timeout is a request timeout, and stays one",
	  test_a_transport_timeout_is_a_request_timeout_and_stays_one },
	{ "without a minimum rate only the idle bound applies",
	  test_without_a_minimum_rate_only_the_idle_bound_applies },
	{ "a transport without read_within is read as before",
	  test_a_transport_without_read_within_is_read_as_before },
	{ "the 408 message names both limits", test_the_408_message_names_both_limits },
};

static const struct unit_test prefix_tests[] = {
	{ "the prefix is taken off the path and kept for links",
	  test_the_prefix_is_taken_off_the_path_and_kept_for_links },
	{ "a prefix that does not fit is a bad request", test_a_prefix_that_does_not_fit_is_a_bad_request },
};

UNIT_SUITES(UNIT_SUITE("request body deadline", NULL, NULL, tests),
            UNIT_SUITE("request path prefix", NULL, NULL, prefix_tests));
