/* test_router.c: unit tests of route matching, 404/405 and the Allow list (http/router.c). */
#include "config.h"

#include "http/router.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void h_any(struct http_request *req, struct http_response *resp)
{
	(void)req;
	(void)resp;
}

static const struct route table[] = {
	/* 0 */ { "GET", "/", h_any, ROUTE_PUBLIC },
	/* 1 */ { "GET", "/projects", h_any, ROUTE_AUTH },
	/* 2 */ { "POST", "/projects", h_any, ROUTE_AUTH },
	/* 3 */ { "GET", "/projects/:id", h_any, ROUTE_AUTH },
	/* 4 */ { "PATCH", "/projects/:id", h_any, ROUTE_AUTH },
	/* 5 */ { "DELETE", "/projects/:id", h_any, ROUTE_AUTH },
	/* 6 */ { "POST", "/projects/:id/assets", h_any, ROUTE_AUTH },
	/* 7 */ { "GET", "/projects/:id/assets/:asset_id", h_any, ROUTE_AUTH },
	/* 8 */ { "HEAD", "/ping", h_any, ROUTE_PUBLIC },
	/* 9 */ { "GET", "/ping", h_any, ROUTE_PUBLIC },
	/* 10 */ { "GET", "/users/me", h_any, ROUTE_AUTH },
	/* 11 */ { "DELETE", "/users/:id", h_any, ROUTE_AUTH },
	/* 12 */ { "GET", "/users/:id", h_any, ROUTE_AUTH },
	/* 13 */ { "POST", "/auth/login", h_any, ROUTE_PUBLIC },
};

/* What *out holds before a call, to see that router_match always sets it. */
static const struct route sentinel = { "SENTINEL", "/", h_any, 0 };

struct match_case {
	const char *method;
	const char *path;
	enum route_result result;
	int route;          /* index into table, -1 for none */
	const char *params; /* "name=value;" list */
	const char *allow;  /* "" unless 405 */
};

static void params_string(const struct route_params *p, char *out, size_t outlen)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < p->n && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s=%s;", p->p[i].name, p->p[i].value);
}

static void run_cases(const struct match_case *cases, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		const struct match_case *c = &cases[i];
		const struct route *r = &sentinel;
		struct route_params params;
		char allow[128], got[512];
		enum route_result rc;

		memset(&params, 0x5a, sizeof(params));
		memset(allow, 'x', sizeof(allow));
		rc = router_match(table, ARRAY_LEN(table), c->method, c->path, &r, &params, allow,
		                  sizeof(allow));
		params_string(&params, got, sizeof(got));
		if (rc != c->result || strcmp(got, c->params) != 0 || strcmp(allow, c->allow) != 0 ||
		    r != (c->route >= 0 ? &table[c->route] : NULL))
			fprintf(stderr, "\n  case %s %s: rc %d route %ld params \"%s\" allow \"%s\"\n",
			        c->method, c->path, (int)rc, r ? (long)(r - table) : -1L, got, allow);
		CU_ASSERT_EQUAL(rc, c->result);
		CU_ASSERT_PTR_EQUAL(r, c->route >= 0 ? &table[c->route] : NULL);
		CU_ASSERT_STRING_EQUAL(got, c->params);
		CU_ASSERT_STRING_EQUAL(allow, c->allow);
	}
}

static void test_exact_and_param_routes_match(void)
{
	static const struct match_case cases[] = {
		{ "GET", "/", ROUTE_MATCH, 0, "", "" },
		{ "GET", "/projects", ROUTE_MATCH, 1, "", "" },
		{ "POST", "/projects", ROUTE_MATCH, 2, "", "" },
		{ "GET", "/projects/42", ROUTE_MATCH, 3, "id=42;", "" },
		{ "PATCH", "/projects/42", ROUTE_MATCH, 4, "id=42;", "" },
		{ "DELETE", "/projects/abc", ROUTE_MATCH, 5, "id=abc;", "" },
		{ "POST", "/projects/7/assets", ROUTE_MATCH, 6, "id=7;", "" },
		{ "GET", "/projects/7/assets/9", ROUTE_MATCH, 7, "id=7;asset_id=9;", "" },
		{ "POST", "/auth/login", ROUTE_MATCH, 13, "", "" },
	};

	run_cases(cases, ARRAY_LEN(cases));
}

static void test_first_route_in_table_order_wins(void)
{
	static const struct match_case cases[] = {
		/* "/users/me" is listed before "/users/:id" */
		{ "GET", "/users/me", ROUTE_MATCH, 10, "", "" },
		{ "GET", "/users/5", ROUTE_MATCH, 12, "id=5;", "" },
		{ "DELETE", "/users/me", ROUTE_MATCH, 11, "id=me;", "" },
	};

	run_cases(cases, ARRAY_LEN(cases));
}

static void test_unknown_paths_are_not_found(void)
{
	static const struct match_case cases[] = {
		{ "GET", "/nope", ROUTE_NOT_FOUND, -1, "", "" },
		{ "GET", "", ROUTE_NOT_FOUND, -1, "", "" },
		{ "GET", "projects", ROUTE_NOT_FOUND, -1, "", "" },
		{ "GET", "/project", ROUTE_NOT_FOUND, -1, "", "" },
		{ "GET", "/projectsx", ROUTE_NOT_FOUND, -1, "", "" },
		{ "GET", "/projects/1/assets/2/extra", ROUTE_NOT_FOUND, -1, "", "" },
		{ "GET", "/PROJECTS", ROUTE_NOT_FOUND, -1, "", "" },
		/* a parameter never matches an empty segment */
		{ "PATCH", "/projects//assets", ROUTE_NOT_FOUND, -1, "", "" },
		{ "POST", "/projects//assets", ROUTE_NOT_FOUND, -1, "", "" },
	};

	run_cases(cases, ARRAY_LEN(cases));
}

static void test_trailing_and_doubled_slashes_do_not_match(void)
{
	static const struct match_case cases[] = {
		{ "GET", "/projects/", ROUTE_NOT_FOUND, -1, "", "" },
		{ "GET", "//projects", ROUTE_NOT_FOUND, -1, "", "" },
		{ "GET", "/projects/42/", ROUTE_NOT_FOUND, -1, "", "" },
		{ "GET", "//", ROUTE_NOT_FOUND, -1, "", "" },
	};

	run_cases(cases, ARRAY_LEN(cases));
}

static void test_wrong_method_is_405_with_allow(void)
{
	static const struct match_case cases[] = {
		{ "PUT", "/projects", ROUTE_METHOD_NOT_ALLOWED, -1, "", "GET, HEAD, POST" },
		{ "POST", "/projects/1", ROUTE_METHOD_NOT_ALLOWED, -1, "", "GET, HEAD, PATCH, DELETE" },
		{ "GET", "/projects/1/assets", ROUTE_METHOD_NOT_ALLOWED, -1, "", "POST" },
		{ "HEAD", "/auth/login", ROUTE_METHOD_NOT_ALLOWED, -1, "", "POST" },
		/* an explicit HEAD route is listed once, in table order */
		{ "POST", "/ping", ROUTE_METHOD_NOT_ALLOWED, -1, "", "HEAD, GET" },
		/* /users/me matches three routes; GET appears once */
		{ "POST", "/users/me", ROUTE_METHOD_NOT_ALLOWED, -1, "", "GET, HEAD, DELETE" },
		/* methods are case-sensitive */
		{ "get", "/", ROUTE_METHOD_NOT_ALLOWED, -1, "", "GET, HEAD" },
	};

	run_cases(cases, ARRAY_LEN(cases));
}

static void test_head_falls_back_to_get(void)
{
	static const struct match_case cases[] = {
		{ "HEAD", "/projects/3", ROUTE_MATCH, 3, "id=3;", "" },
		{ "HEAD", "/", ROUTE_MATCH, 0, "", "" },
		/* a HEAD route of its own wins over the GET one */
		{ "HEAD", "/ping", ROUTE_MATCH, 8, "", "" },
		{ "HEAD", "/users/me", ROUTE_MATCH, 10, "", "" },
	};

	run_cases(cases, ARRAY_LEN(cases));
}

static void test_param_length_is_capped(void)
{
	char path[ROUTE_MAX_PARAM_LEN + 32];
	char want[ROUTE_MAX_PARAM_LEN + 32];
	struct route_params params;
	const struct route *r = NULL;
	char allow[64];

	/* ROUTE_MAX_PARAM_LEN - 1 bytes fit. */
	memcpy(path, "/projects/", 10);
	memset(path + 10, '7', ROUTE_MAX_PARAM_LEN - 1);
	path[10 + ROUTE_MAX_PARAM_LEN - 1] = '\0';
	memset(want, '7', ROUTE_MAX_PARAM_LEN - 1);
	want[ROUTE_MAX_PARAM_LEN - 1] = '\0';
	CU_ASSERT_EQUAL(router_match(table, ARRAY_LEN(table), "GET", path, &r, &params, allow, sizeof(allow)),
	                ROUTE_MATCH);
	CU_ASSERT_PTR_EQUAL(r, &table[3]);
	CU_ASSERT_EQUAL(params.n, 1);
	CU_ASSERT_STRING_EQUAL(params.p[0].value, want);
	/* One byte more never matches a parameter: not found, not truncated. */
	path[10 + ROUTE_MAX_PARAM_LEN - 1] = '7';
	path[10 + ROUTE_MAX_PARAM_LEN] = '\0';
	CU_ASSERT_EQUAL(router_match(table, ARRAY_LEN(table), "GET", path, &r, &params, allow, sizeof(allow)),
	                ROUTE_NOT_FOUND);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(params.n, 0);
}

static void test_bad_patterns_never_match(void)
{
	static const struct route bad[] = {
		/* a parameter name of 32 characters does not fit struct route_params */
		{ "GET", "/a/:abcdefghijklmnopqrstuvwxyz012345", h_any, 0 },
		/* five parameters, one more than ROUTE_MAX_PARAMS */
		{ "GET", "/b/:p1/:p2/:p3/:p4/:p5", h_any, 0 },
		/* a lone ':' has no name */
		{ "GET", "/c/:", h_any, 0 },
		/* the longest name that fits */
		{ "GET", "/d/:abcdefghijklmnopqrstuvwxyz01234", h_any, 0 },
	};
	struct route_params params;
	const struct route *r = NULL;
	char allow[64];

	CU_ASSERT_EQUAL(router_match(bad, ARRAY_LEN(bad), "GET", "/a/1", &r, &params, allow, sizeof(allow)),
	                ROUTE_NOT_FOUND);
	CU_ASSERT_EQUAL(
	        router_match(bad, ARRAY_LEN(bad), "GET", "/b/1/2/3/4/5", &r, &params, allow, sizeof(allow)),
	        ROUTE_NOT_FOUND);
	CU_ASSERT_EQUAL(router_match(bad, ARRAY_LEN(bad), "GET", "/c/1", &r, &params, allow, sizeof(allow)),
	                ROUTE_NOT_FOUND);
	CU_ASSERT_EQUAL(router_match(bad, ARRAY_LEN(bad), "GET", "/d/1", &r, &params, allow, sizeof(allow)),
	                ROUTE_MATCH);
	CU_ASSERT_STRING_EQUAL(params.p[0].name, "abcdefghijklmnopqrstuvwxyz01234");
}

static void test_allow_list_is_cut_at_whole_methods(void)
{
	struct route_params params;
	const struct route *r = NULL;
	char allow[12];

	/* "GET, HEAD, PATCH, DELETE" does not fit in 12 bytes: whole names only. */
	CU_ASSERT_EQUAL(router_match(table, ARRAY_LEN(table), "PUT", "/projects/1", &r, &params, allow,
	                             sizeof(allow)),
	                ROUTE_METHOD_NOT_ALLOWED);
	CU_ASSERT_STRING_EQUAL(allow, "GET, HEAD");
	/* No allow buffer at all is fine. */
	CU_ASSERT_EQUAL(router_match(table, ARRAY_LEN(table), "PUT", "/projects/1", &r, &params, NULL, 0),
	                ROUTE_METHOD_NOT_ALLOWED);
}

static void test_null_method_or_path(void)
{
	struct route_params params;
	const struct route *r = NULL;
	char allow[64];

	CU_ASSERT_EQUAL(router_match(table, ARRAY_LEN(table), "GET", NULL, &r, &params, allow, sizeof(allow)),
	                ROUTE_NOT_FOUND);
	CU_ASSERT_EQUAL(router_match(table, ARRAY_LEN(table), NULL, "/", &r, &params, allow, sizeof(allow)),
	                ROUTE_METHOD_NOT_ALLOWED);
	CU_ASSERT_STRING_EQUAL(allow, "GET, HEAD");
	CU_ASSERT_EQUAL(router_match(table, 0, "GET", "/", &r, &params, allow, sizeof(allow)),
	                ROUTE_NOT_FOUND);
}

static const struct unit_test tests[] = {
	{ "exact and parameter routes match", test_exact_and_param_routes_match },
	{ "first route in table order wins", test_first_route_in_table_order_wins },
	{ "unknown paths are not found", test_unknown_paths_are_not_found },
	{ "trailing and doubled slashes do not match", test_trailing_and_doubled_slashes_do_not_match },
	{ "wrong method is 405 with Allow", test_wrong_method_is_405_with_allow },
	{ "HEAD falls back to GET", test_head_falls_back_to_get },
	{ "parameter length is capped", test_param_length_is_capped },
	{ "bad patterns never match", test_bad_patterns_never_match },
	{ "Allow list is cut at whole methods", test_allow_list_is_cut_at_whole_methods },
	{ "NULL method or path", test_null_method_or_path },
};

UNIT_SUITES(UNIT_SUITE("router", NULL, NULL, tests));
