/* test_cors.c: unit tests of the cors_origins list, the CORS headers and preflights (http/cors.c). */
#include "config.h"

#include "http/cors.h"

#include <CUnit/Basic.h>
#include <string.h>

#include "http/response.h"
#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Whether the header block of resp has the line "name: value". */
static bool has_line(const struct http_response *resp, const char *name, const char *value)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s: %s\r\n", name, value);
	return strstr(resp->headers.data, line) != NULL;
}

static bool has_header(const struct http_response *resp, const char *name)
{
	char start[128];

	snprintf(start, sizeof(start), "%s: ", name);
	return strncmp(resp->headers.data, start, strlen(start)) == 0 ||
	       (snprintf(start, sizeof(start), "\n%s: ", name) > 0 &&
	        strstr(resp->headers.data, start) != NULL);
}

static void test_check_accepts_star_lists_and_blank(void)
{
	static const char *const good[] = {
		"*",
		" * ",
		"",
		"   ",
		"https://app.example.com",
		"https://app.example.com, http://localhost:3000",
		"https://a.example.com http://b.example.com:8080\thttp://127.0.0.1:5173",
		"http://[::1]:8080",
		"HTTPS://App.Example.COM",
		"app+x://host",
	};
	char err[256];
	size_t i;

	for (i = 0; i < ARRAY_LEN(good); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(cors_check_origins(good[i], err, sizeof(err)), 0);
		if (err[0] != '\0')
			fprintf(stderr, "\n  \"%s\": %s\n", good[i], err);
	}
	CU_ASSERT_EQUAL(cors_check_origins(NULL, err, sizeof(err)), 0);
}

static void test_check_refuses_what_is_not_an_origin(void)
{
	static const struct {
		const char *value, *in_message;
	} bad[] = {
		{ "https://app.example.com/", "https://app.example.com/" },
		{ "https://app.example.com/path", "not an origin" },
		{ "app.example.com", "app.example.com" },
		{ "https://", "not an origin" },
		{ "https://*.example.com", "not an origin" },
		{ "https://user@example.com", "not an origin" },
		{ "https://example.com:", "not an origin" },
		{ "https://example.com:0", "not an origin" },
		{ "https://example.com:65536", "not an origin" },
		{ "https://example.com:123456", "not an origin" },
		{ "https://example.com?x=1", "not an origin" },
		{ "http://[::1", "not an origin" },
		{ "null", "null" },
		{ "*, https://app.example.com", "stand alone" },
		{ "https://app.example.com *", "stand alone" },
		{ "* *", "stand alone" },
	};
	char err[256];
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(cors_check_origins(bad[i].value, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].in_message));
	}
}

static void test_check_caps_length_and_count(void)
{
	char big[CORS_ORIGIN_MAX + 64], many[CORS_MAX_ORIGINS * 32 + 64], err[256];
	size_t i, o = 0;

	snprintf(big, sizeof(big), "https://");
	memset(big + 8, 'a', CORS_ORIGIN_MAX);
	big[8 + CORS_ORIGIN_MAX] = '\0';
	CU_ASSERT_EQUAL(cors_check_origins(big, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than"));
	for (i = 0; i <= CORS_MAX_ORIGINS; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "https://h%zu.example ", i);
	CU_ASSERT_EQUAL(cors_check_origins(many, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "more than"));
}

static void test_allowed_matches_whole_entries_without_case(void)
{
	static const struct {
		const char *origins, *origin;
		bool want;
	} cases[] = {
		{ "*", "https://anything.example", true },
		{ "*", "null", true },
		{ "*", NULL, false },
		{ "https://app.example.com", "https://app.example.com", true },
		{ "https://app.example.com", "https://APP.example.com", true },
		{ "https://a.example, https://app.example.com", "https://app.example.com", true },
		{ "https://app.example.com", "https://app.example.com.evil.test", false },
		{ "https://app.example.com", "https://app.example.co", false },
		{ "https://app.example.com", "http://app.example.com", false },
		{ "https://app.example.com", "https://app.example.com:443", false },
		{ "https://app.example.com", "", false },
		{ "https://app.example.com", "null", false },
		{ "https://app.example.com", NULL, false },
		{ "", "https://app.example.com", false },
		{ NULL, "https://app.example.com", false },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		bool got = cors_origin_allowed(cases[i].origins, cases[i].origin);
		if (got != cases[i].want)
			fprintf(stderr, "\n  case %zu: %s in \"%s\": %d\n", i,
			        cases[i].origin ? cases[i].origin : "NULL",
			        cases[i].origins ? cases[i].origins : "NULL", got);
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
}

static void test_star_answers_star_to_everyone(void)
{
	struct http_response r;

	http_response_init(&r, false);
	CU_ASSERT_TRUE(cors_response_headers("*", "https://x.example", &r));
	CU_ASSERT_TRUE(has_line(&r, "Access-Control-Allow-Origin", "*"));
	CU_ASSERT_TRUE(has_line(&r, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS));
	CU_ASSERT_FALSE(has_header(&r, "Vary"));
	CU_ASSERT_FALSE(has_header(&r, "Access-Control-Allow-Credentials"));
	http_response_free(&r);
	/* Without Origin too: a cached answer must serve a later cross-origin fetch. */
	http_response_init(&r, false);
	CU_ASSERT_FALSE(cors_response_headers("*", NULL, &r));
	CU_ASSERT_TRUE(has_line(&r, "Access-Control-Allow-Origin", "*"));
	http_response_free(&r);
}

static void test_list_echoes_an_allowed_origin_with_vary(void)
{
	struct http_response r;

	http_response_init(&r, false);
	CU_ASSERT_TRUE(cors_response_headers("https://a.example https://b.example", "https://b.example", &r));
	CU_ASSERT_TRUE(has_line(&r, "Access-Control-Allow-Origin", "https://b.example"));
	CU_ASSERT_TRUE(has_line(&r, "Vary", "Origin"));
	CU_ASSERT_TRUE(has_header(&r, "Access-Control-Expose-Headers"));
	CU_ASSERT_FALSE(has_header(&r, "Access-Control-Allow-Credentials"));
	http_response_free(&r);
}

static void test_list_gives_a_refused_origin_only_vary(void)
{
	static const char *const origins[] = { "https://evil.example", NULL, "" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(origins); i++) {
		struct http_response r;

		http_response_init(&r, false);
		CU_ASSERT_FALSE(cors_response_headers("https://a.example", origins[i], &r));
		CU_ASSERT_STRING_EQUAL(r.headers.data, "Vary: Origin\r\n");
		http_response_free(&r);
	}
}

static void test_preflight_from_allowed_origin_is_204_with_methods(void)
{
	struct http_response r;
	char age[16];

	http_response_init(&r, false);
	cors_options("https://a.example", "DELETE", true, "GET, HEAD, DELETE", &r);
	CU_ASSERT_EQUAL(r.status, 204);
	CU_ASSERT_STRING_EQUAL(r.content_type, "");
	CU_ASSERT_EQUAL(r.body.len, 0);
	CU_ASSERT_TRUE(has_line(&r, "Allow", "GET, HEAD, DELETE, OPTIONS"));
	CU_ASSERT_TRUE(has_line(&r, "Access-Control-Allow-Methods", "GET, HEAD, DELETE"));
	CU_ASSERT_TRUE(has_line(&r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS));
	snprintf(age, sizeof(age), "%d", CORS_MAX_AGE);
	CU_ASSERT_TRUE(has_line(&r, "Access-Control-Max-Age", age));
	http_response_free(&r);
}

static void test_preflight_from_refused_origin_is_json_403(void)
{
	struct http_response r;

	http_response_init(&r, false);
	cors_options("https://evil.example", "POST", false, "POST", &r);
	CU_ASSERT_EQUAL(r.status, 403);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.data, "\"error\":\"forbidden\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body.data, "cors_origins"));
	CU_ASSERT_FALSE(has_header(&r, "Access-Control-Allow-Methods"));
	CU_ASSERT_FALSE(has_header(&r, "Access-Control-Allow-Headers"));
	CU_ASSERT_FALSE(has_header(&r, "Access-Control-Max-Age"));
	http_response_free(&r);
}

static void test_plain_options_is_204_with_allow_only(void)
{
	static const struct {
		const char *origin, *method;
	} cases[] = { { NULL, NULL }, { "https://a.example", NULL }, { NULL, "GET" } };
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct http_response r;

		http_response_init(&r, false);
		cors_options(cases[i].origin, cases[i].method, false, "POST, GET, HEAD", &r);
		CU_ASSERT_EQUAL(r.status, 204);
		CU_ASSERT_STRING_EQUAL(r.headers.data, "Allow: POST, GET, HEAD, OPTIONS\r\n");
		http_response_free(&r);
	}
}

static const struct unit_test tests[] = {
	{ "check accepts *, lists and blank", test_check_accepts_star_lists_and_blank },
	{ "check refuses what is not an origin", test_check_refuses_what_is_not_an_origin },
	{ "check caps length and count", test_check_caps_length_and_count },
	{ "allowed matches whole entries without case", test_allowed_matches_whole_entries_without_case },
	{ "* answers * to everyone", test_star_answers_star_to_everyone },
	{ "a list echoes an allowed origin with Vary", test_list_echoes_an_allowed_origin_with_vary },
	{ "a list gives a refused origin only Vary", test_list_gives_a_refused_origin_only_vary },
	{ "preflight from an allowed origin is 204 with the methods",
	  test_preflight_from_allowed_origin_is_204_with_methods },
	{ "preflight from a refused origin is a JSON 403", test_preflight_from_refused_origin_is_json_403 },
	{ "plain OPTIONS is 204 with Allow only", test_plain_options_is_204_with_allow_only },
};

UNIT_SUITES(UNIT_SUITE("cors", NULL, NULL, tests));
