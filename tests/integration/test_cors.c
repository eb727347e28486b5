/* test_cors.c: CORS against the real stack: preflights for the routes, allowed and refused origins,
 * the headers on errors and on streams with Range, through the web server, in both stream modes. */
#include "config.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "itest.h"

/* An origin no run lists in cors_origins. */
#define REFUSED_ORIGIN "https://evil.example.test"
/* Used when cors_origins is "*": any origin is let in. */
#define ANY_ORIGIN "https://app.example.test"

/* What the page of another origin must be able to read (issue 11, section 1). */
static const char *const exposed_required[] = { "Content-Range",   "ETag",
	                                        "Location",        "Retry-After",
	                                        "RateLimit-Limit", "RateLimit-Remaining",
	                                        "RateLimit-Reset", "X-Request-Id",
	                                        "Accept-Ranges",   NULL };

static bool star;           /* cors_origins is "*" */
static char allowed[256];   /* an origin the stack lets in */
static char dir[256];       /* the fixture folder */
static char tok[4096];      /* the media owner's token */
static long long media_id;  /* tone.wav, uploaded by tok's user */
static long long tone_size; /* its size */

/* ---- helpers ------------------------------------------------------------------------------------ */

/*
 * cors_origins (or the deprecated cors_origin) from the harness's mediad.conf, the last line
 * winning as in mediad's parser; absent means the default, "*". Sets star and allowed (the first
 * origin listed).
 */
static int read_cors_setting(void)
{
	const char *path = getenv("MEDIAD_CONFIG");
	char line[1024], value[1024] = "*";
	FILE *f = path ? fopen(path, "r") : NULL;

	if (f == NULL) {
		fprintf(stderr, "test_cors: cannot read MEDIAD_CONFIG\n");
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *v = NULL;

		if (strncmp(line, "cors_origins", 12) == 0)
			v = line + 12;
		else if (strncmp(line, "cors_origin", 11) == 0)
			v = line + 11;
		if (v == NULL)
			continue;
		v += strspn(v, " \t");
		if (*v != '=')
			continue;
		v++;
		v += strspn(v, " \t");
		v[strcspn(v, "\r\n")] = '\0';
		snprintf(value, sizeof(value), "%s", v);
	}
	fclose(f);
	star = strcmp(value, "*") == 0;
	if (star)
		snprintf(allowed, sizeof(allowed), "%s", ANY_ORIGIN);
	else
		snprintf(allowed, sizeof(allowed), "%.*s", (int)strcspn(value, ", \t"), value);
	if (allowed[0] == '\0') {
		fprintf(stderr, "test_cors: cors_origins names no origin\n");
		return -1;
	}
	return 0;
}

/* Lines of the response header block named name (case-insensitive). */
static int header_count(const struct itest_resp *r, const char *name)
{
	const char *line = r->headers;
	size_t nlen = strlen(name);
	int n = 0;

	while (line != NULL && *line != '\0') {
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':')
			n++;
		line = strstr(line, "\r\n");
		if (line != NULL)
			line += 2;
	}
	return n;
}

/* Whether the comma-separated list holds item, compared without case and surrounding blanks. */
static bool list_has(const char *list, const char *item)
{
	size_t il = strlen(item);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, ",");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == il && strncasecmp(p, item, il) == 0)
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* How many items the comma-separated list has. */
static int list_len(const char *list)
{
	int n = 0;
	const char *p = list;

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		n++;
		p += strcspn(p, ",");
	}
	return n;
}

/* Whether two comma-separated lists hold the same items (without case; neither has duplicates). */
static bool same_set(const char *got, const char *want)
{
	const char *p = want;

	if (list_len(got) != list_len(want))
		return false;
	while (*p != '\0') {
		char item[64];
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		snprintf(item, sizeof(item), "%.*s", (int)n, p);
		if (!list_has(got, item))
			return false;
		p += n;
	}
	return true;
}

/* Sends method path with an Origin (NULL: none), up to two extra header lines and a token. */
static int send_from(const char *origin, const char *method, const char *path, const char *h1, const char *h2,
                     const char *token, struct itest_resp *r)
{
	char o[300];
	const char *h[4] = { NULL, NULL, NULL, NULL };
	int n = 0;

	if (origin != NULL) {
		snprintf(o, sizeof(o), "Origin: %s", origin);
		h[n++] = o;
	}
	if (h1 != NULL)
		h[n++] = h1;
	if (h2 != NULL)
		h[n++] = h2;
	{
		/* A POST says Content-Length: 0 (lighttpd refuses one without it). */
		const struct itest_req q = { .method = method,
			                     .path = path,
			                     .headers = h,
			                     .token = token,
			                     .body = strcmp(method, "POST") == 0 ? "" : NULL };
		return itest_send(&q, r);
	}
}

/* A CORS preflight from origin for method on path, asking for the request headers req_headers. */
static int preflight(const char *origin, const char *path, const char *method, const char *req_headers,
                     struct itest_resp *r)
{
	char m[64], rh[256];

	snprintf(m, sizeof(m), "Access-Control-Request-Method: %s", method);
	snprintf(rh, sizeof(rh), "Access-Control-Request-Headers: %s", req_headers ? req_headers : "");
	return send_from(origin, "OPTIONS", path, m, req_headers ? rh : NULL, NULL, r);
}

/*
 * Asserts what every answer to an allowed origin carries: one Access-Control-Allow-Origin (the
 * origin itself with Vary: Origin, or "*"), never Access-Control-Allow-Credentials, and one
 * Access-Control-Expose-Headers naming what a page needs to read.
 */
static void assert_cors_allowed(const struct itest_resp *r, const char *origin)
{
	char v[1024] = "";
	int i;

	CU_ASSERT_EQUAL(header_count(r, "Access-Control-Allow-Origin"), 1);
	CU_ASSERT_TRUE(itest_header(r, "Access-Control-Allow-Origin", v, sizeof(v)));
	if (star) {
		CU_ASSERT_STRING_EQUAL(v, "*");
	} else {
		CU_ASSERT_STRING_EQUAL(v, origin);
		v[0] = '\0';
		CU_ASSERT_TRUE(itest_header(r, "Vary", v, sizeof(v)) && list_has(v, "Origin"));
	}
	CU_ASSERT_EQUAL(header_count(r, "Access-Control-Allow-Credentials"), 0);
	CU_ASSERT_EQUAL(header_count(r, "Access-Control-Expose-Headers"), 1);
	v[0] = '\0';
	CU_ASSERT_TRUE(itest_header(r, "Access-Control-Expose-Headers", v, sizeof(v)));
	for (i = 0; exposed_required[i] != NULL; i++) {
		if (!list_has(v, exposed_required[i]))
			fprintf(stderr, "\n  Access-Control-Expose-Headers lacks %s: %s\n",
			        exposed_required[i], v);
		CU_ASSERT_TRUE(list_has(v, exposed_required[i]));
	}
}

/* Asserts an answer carries no CORS permission at all (for an origin that is not let in). */
static void assert_no_cors(const struct itest_resp *r)
{
	static const char *const names[] = { "Access-Control-Allow-Origin",
		                             "Access-Control-Allow-Methods",
		                             "Access-Control-Allow-Headers",
		                             "Access-Control-Max-Age",
		                             "Access-Control-Allow-Credentials",
		                             "Access-Control-Expose-Headers",
		                             NULL };
	int i;

	for (i = 0; names[i] != NULL; i++)
		CU_ASSERT_EQUAL(header_count(r, names[i]), 0);
}

/* A signed stream link of media_id, relative to the base URL. */
static void link_of(char *rel, size_t n)
{
	char path[64];
	struct itest_resp r;
	const char *url;

	rel[0] = '\0';
	snprintf(path, sizeof(path), "/media/%lld/stream-url", media_id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok, NULL, &r) == 0);
	url = itest_jstr(&r, "url");
	if (r.status == 200 && url != NULL && strncmp(url, itest_base(), strlen(itest_base())) == 0)
		snprintf(rel, n, "%s", url + strlen(itest_base()));
	itest_resp_free(&r);
	CU_ASSERT_FATAL(rel[0] != '\0');
}

/* ---- the tests ---------------------------------------------------------------------------------- */

static void test_setup_user_and_media(void)
{
	char wav[300];
	const struct itest_req q = { .method = "POST", .path = "/media", .token = tok, .file = wav };
	struct itest_resp r;

	itest_login(tok, sizeof(tok), NULL, 0, "cors");
	snprintf(wav, sizeof(wav), "%s/tone.wav", dir);
	CU_ASSERT_FATAL(itest_send(&q, &r) == 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	media_id = itest_member_int(r.json, "id");
	tone_size = itest_member_int(r.json, "sizeBytes");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(media_id > 0 && tone_size > 200);
}

static void test_preflight_lists_each_routes_methods(void)
{
	/* Route paths and the methods the route table has for them (HEAD with every GET). */
	static const struct {
		const char *path, *method, *methods;
	} cases[] = {
		{ "/healthz", "GET", "GET, HEAD" },
		{ "/auth/login", "POST", "POST" },
		{ "/auth/register", "POST", "POST" },
		{ "/auth/logout", "POST", "POST, GET, HEAD" },
		{ "/auth/me", "GET", "GET, HEAD" },
		{ "/projects", "POST", "POST, GET, HEAD" },
		{ "/projects/1", "PATCH", "GET, HEAD, PATCH, DELETE" },
		{ "/media", "POST", "POST, GET, HEAD" },
		{ "/media/1/stream", "GET", "GET, HEAD" },
		{ "/media/1/view", "POST", "POST" },
		{ "/jobs/0b5f0c1e-1111-4222-8333-444455556666", "DELETE", "GET, HEAD, DELETE" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct itest_resp r;
		char v[512] = "", *end;
		long age;

		CU_ASSERT_FATAL(preflight(allowed, cases[i].path, cases[i].method,
		                          "authorization, content-type", &r) == 0);
		if (r.status != 204)
			fprintf(stderr, "\n  OPTIONS %s -> %ld %s\n", cases[i].path, r.status,
			        r.body ? r.body : "");
		CU_ASSERT_EQUAL(r.status, 204);
		CU_ASSERT_EQUAL(r.body_len, 0);
		assert_cors_allowed(&r, allowed);
		CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)));
		if (!same_set(v, cases[i].methods))
			fprintf(stderr, "\n  OPTIONS %s: Access-Control-Allow-Methods \"%s\", want \"%s\"\n",
			        cases[i].path, v, cases[i].methods);
		CU_ASSERT_TRUE(same_set(v, cases[i].methods));
		v[0] = '\0';
		CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)));
		CU_ASSERT_TRUE(list_has(v, "Authorization"));
		CU_ASSERT_TRUE(list_has(v, "Content-Type"));
		v[0] = '\0';
		CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Max-Age", v, sizeof(v)));
		age = strtol(v, &end, 10);
		CU_ASSERT_TRUE(end != v && *end == '\0' && age > 0 && age <= 7200);
		/* An OPTIONS answer says what the path allows, OPTIONS included. */
		v[0] = '\0';
		CU_ASSERT_TRUE(itest_header(&r, "Allow", v, sizeof(v)) && list_has(v, "OPTIONS"));
		itest_resp_free(&r);
	}
}

static void test_preflight_allows_only_known_request_headers(void)
{
	struct itest_resp r;
	char v[512] = "";

	CU_ASSERT_FATAL(preflight(allowed, "/auth/me", "GET", "authorization, x-evil-header", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 204);
	CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)));
	CU_ASSERT_TRUE(list_has(v, "Authorization"));
	CU_ASSERT_FALSE(list_has(v, "x-evil-header"));
	CU_ASSERT_FALSE(list_has(v, "*"));
	itest_resp_free(&r);
}

static void test_preflight_allows_range_for_players(void)
{
	struct itest_resp r;
	char v[512] = "";

	CU_ASSERT_FATAL(preflight(allowed, "/media/1/stream", "GET", "range", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 204);
	CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)) &&
	               list_has(v, "Range"));
	itest_resp_free(&r);
}

static void test_options_on_unknown_path_is_json_404(void)
{
	struct itest_resp r;

	CU_ASSERT_FATAL(preflight(allowed, "/no/such/thing", "GET", "authorization", &r) == 0);
	itest_assert_error(&r, 404, "not_found");
	assert_cors_allowed(&r, allowed);
	CU_ASSERT_EQUAL(header_count(&r, "Access-Control-Allow-Methods"), 0);
	itest_resp_free(&r);
}

static void test_preflight_from_a_refused_origin(void)
{
	struct itest_resp r;
	char v[256] = "";

	CU_ASSERT_FATAL(preflight(REFUSED_ORIGIN, "/auth/login", "POST", "content-type", &r) == 0);
	if (star) {
		/* "*": every origin is let in. */
		CU_ASSERT_EQUAL(r.status, 204);
		assert_cors_allowed(&r, REFUSED_ORIGIN);
	} else {
		/* A JSON 403 that says why, and no permission the browser could use. */
		itest_assert_error(&r, 403, "forbidden");
		CU_ASSERT_PTR_NOT_NULL(strstr(r.body ? r.body : "", "cors_origins"));
		assert_no_cors(&r);
		CU_ASSERT_TRUE(itest_header(&r, "Vary", v, sizeof(v)) && list_has(v, "Origin"));
	}
	itest_resp_free(&r);
}

static void test_actual_request_from_a_refused_origin(void)
{
	struct itest_resp r;
	char v[256] = "";

	/* Served as usual (CORS is for browsers, not access control), but not readable by the page. */
	CU_ASSERT_FATAL(send_from(REFUSED_ORIGIN, "GET", "/healthz", NULL, NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	if (star) {
		assert_cors_allowed(&r, REFUSED_ORIGIN);
	} else {
		assert_no_cors(&r);
		CU_ASSERT_TRUE(itest_header(&r, "Vary", v, sizeof(v)) && list_has(v, "Origin"));
	}
	itest_resp_free(&r);
}

static void test_plain_options_answers_allow(void)
{
	struct itest_resp r;
	char v[256] = "";

	CU_ASSERT_FATAL(send_from(NULL, "OPTIONS", "/projects", NULL, NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 204);
	CU_ASSERT_TRUE(itest_header(&r, "Allow", v, sizeof(v)));
	CU_ASSERT_TRUE(same_set(v, "POST, GET, HEAD, OPTIONS"));
	CU_ASSERT_EQUAL(header_count(&r, "Access-Control-Allow-Methods"), 0);
	itest_resp_free(&r);
}

static void test_success_carries_cors(void)
{
	char path[128];
	struct itest_resp r;
	const char *h = "Content-Type: application/json";

	CU_ASSERT_FATAL(send_from(allowed, "GET", "/auth/me", NULL, NULL, tok, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
	/* The 201 of a view: the page could not read it. */
	snprintf(path, sizeof(path), "/media/%lld/view", media_id);
	CU_ASSERT_FATAL(send_from(allowed, "POST", path, h, NULL, tok, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
}

static void test_401_carries_cors(void)
{
	struct itest_resp r;
	char v[1024] = "";

	CU_ASSERT_FATAL(send_from(allowed, "GET", "/auth/me", NULL, NULL, NULL, &r) == 0);
	itest_assert_error(&r, 401, "unauthorized");
	assert_cors_allowed(&r, allowed);
	/* A page can tell a missing token from a bad one. */
	CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Expose-Headers", v, sizeof(v)) &&
	               list_has(v, "WWW-Authenticate"));
	itest_resp_free(&r);
}

static void test_404_and_405_carry_cors(void)
{
	struct itest_resp r;

	CU_ASSERT_FATAL(send_from(allowed, "GET", "/no/such/thing", NULL, NULL, NULL, &r) == 0);
	itest_assert_error(&r, 404, "not_found");
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(send_from(allowed, "DELETE", "/healthz", NULL, NULL, NULL, &r) == 0);
	itest_assert_error(&r, 405, "method_not_allowed");
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
}

static void test_429_carries_cors(void)
{
	char path[128], xff[64], rel[1024];
	struct itest_resp r;
	int i;

	/* Views through the stream link, from an address of our own (the harness trusts loopback's
	 * X-Forwarded-For): view_rate_limit (30) a minute, then 429. */
	link_of(rel, sizeof(rel));
	snprintf(path, sizeof(path), "/media/%lld/view%s", media_id, strchr(rel, '?'));
	snprintf(xff, sizeof(xff), "X-Forwarded-For: 198.51.100.%d", (int)(getpid() % 200) + 1);
	for (i = 0; i < 100; i++) {
		CU_ASSERT_FATAL(send_from(allowed, "POST", path, xff, NULL, NULL, &r) == 0);
		if (r.status != 201)
			break;
		itest_resp_free(&r);
	}
	itest_assert_error(&r, 429, "rate_limited");
	CU_ASSERT_EQUAL(header_count(&r, "Retry-After"), 1);
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
}

static void test_stream_range_carries_cors_once(void)
{
	char rel[1024], v[256], want[64];
	struct itest_resp r;

	link_of(rel, sizeof(rel));
	CU_ASSERT_FATAL(send_from(allowed, "GET", rel, "Range: bytes=10-109", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 206);
	CU_ASSERT_EQUAL(r.body_len, 100);
	snprintf(want, sizeof(want), "bytes 10-109/%lld", tone_size);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Range", v, sizeof(v)) && strcmp(v, want) == 0);
	CU_ASSERT_EQUAL(header_count(&r, "ETag"), 1);
	/* Once each: neither the web server nor mediad may add a second one. */
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
	/* The whole file, and HEAD. */
	CU_ASSERT_FATAL(send_from(allowed, "GET", rel, NULL, NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL((long long)r.body_len, tone_size);
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(send_from(allowed, "HEAD", rel, NULL, NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
}

static void test_stream_errors_carry_cors(void)
{
	char path[128];
	struct itest_resp r;

	snprintf(path, sizeof(path), "/media/%lld/stream?expires=1&sig=AAAA", media_id);
	CU_ASSERT_FATAL(send_from(allowed, "GET", path, "Range: bytes=0-9", NULL, NULL, &r) == 0);
	CU_ASSERT_TRUE(r.status == 403 || r.status == 410);
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
}

static void test_503_carries_cors(void)
{
	struct itest_resp r;

	CU_ASSERT_FATAL(itest_run_tool("pg-stop") == 0);
	CU_ASSERT_FATAL(send_from(allowed, "GET", "/healthz", NULL, NULL, NULL, &r) == 0);
	itest_assert_error(&r, 503, "unavailable");
	assert_cors_allowed(&r, allowed);
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_run_tool("pg-start") == 0);
	CU_ASSERT_TRUE(itest_wait_status("/healthz", 200, 15000));
}

static void test_teardown_media(void)
{
	if (media_id > 0)
		itest_delete_media(tok, media_id);
}

static int suite_init(void)
{
	char wav[300];
	const char *a[] = {
		"ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.2",
		"-ac",    "1",        wav,  NULL
	};

	if (read_cors_setting() != 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/mediad-cors-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(wav, sizeof(wav), "%s/tone.wav", dir);
	return itest_run(a) == 0 ? 0 : -1;
}

static int suite_clean(void)
{
	char wav[300];

	snprintf(wav, sizeof(wav), "%s/tone.wav", dir);
	unlink(wav);
	if (dir[0] != '\0')
		rmdir(dir);
	return 0;
}

int main(void)
{
	CU_pSuite s;

	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("cors", suite_init, suite_clean);
	CU_add_test(s, "a user and a media", test_setup_user_and_media);
	CU_add_test(s, "preflight lists each route's methods", test_preflight_lists_each_routes_methods);
	CU_add_test(s, "preflight allows only known request headers",
	            test_preflight_allows_only_known_request_headers);
	CU_add_test(s, "preflight allows Range for players", test_preflight_allows_range_for_players);
	CU_add_test(s, "OPTIONS on an unknown path is a JSON 404", test_options_on_unknown_path_is_json_404);
	CU_add_test(s, "preflight from a refused origin", test_preflight_from_a_refused_origin);
	CU_add_test(s, "actual request from a refused origin", test_actual_request_from_a_refused_origin);
	CU_add_test(s, "OPTIONS without Origin answers Allow", test_plain_options_answers_allow);
	CU_add_test(s, "success answers carry CORS", test_success_carries_cors);
	CU_add_test(s, "401 carries CORS", test_401_carries_cors);
	CU_add_test(s, "404 and 405 carry CORS", test_404_and_405_carry_cors);
	CU_add_test(s, "429 carries CORS", test_429_carries_cors);
	CU_add_test(s, "stream with Range carries CORS once", test_stream_range_carries_cors_once);
	CU_add_test(s, "stream errors carry CORS", test_stream_errors_carry_cors);
	CU_add_test(s, "the media is deleted", test_teardown_media);
	/* Last: it restarts PostgreSQL. */
	CU_add_test(s, "503 carries CORS", test_503_carries_cors);
	return itest_run_all();
}
