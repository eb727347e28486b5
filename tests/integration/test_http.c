/* test_http.c: the foundation against the real stack: healthz, 404/405, body caps, bad JSON, and
 * healthz following PostgreSQL down and back up. */
#include "config.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

static void test_healthz_answers_ok_with_both_stores(void)
{
	struct itest_resp r;

	CU_ASSERT_FATAL(itest_request("GET", "/healthz", NULL, NULL, 0, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(r.json);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "ok");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "postgres"), "ok");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "redis"), "ok");
	itest_resp_free(&r);
}

static void test_unknown_path_is_json_404(void)
{
	struct itest_resp r;
	char ct[128];

	CU_ASSERT_FATAL(itest_request("GET", "/no/such/thing", NULL, NULL, 0, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Type", ct, sizeof(ct)));
	CU_ASSERT_PTR_NOT_NULL(strstr(ct, "application/json"));
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "not_found");
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "message"));
	itest_resp_free(&r);
}

static void test_wrong_method_is_405_with_allow(void)
{
	struct itest_resp r;
	char allow[128] = "";

	CU_ASSERT_FATAL(itest_request("DELETE", "/healthz", NULL, NULL, 0, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT_TRUE(itest_header(&r, "Allow", allow, sizeof(allow)));
	CU_ASSERT_PTR_NOT_NULL(strstr(allow, "GET"));
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "method_not_allowed");
	itest_resp_free(&r);
}

static void test_echo_round_trips_json(void)
{
	struct itest_resp r;

	CU_ASSERT_FATAL(itest_json("POST", "/_test/echo", NULL, "{\"name\":\"caf\\u00e9\"}", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "name"), "caf\xc3\xa9");
	itest_resp_free(&r);
}

static void test_body_over_cap_is_413(void)
{
	/* The default JSON cap is 64 KiB: send 100 KiB of valid JSON. */
	size_t n = 100 * 1024;
	char *big = malloc(n + 32);
	struct itest_resp r;

	CU_ASSERT_FATAL(big != NULL);
	memcpy(big, "{\"name\":\"", 9);
	memset(big + 9, 'a', n);
	memcpy(big + 9 + n, "\"}", 3);
	CU_ASSERT_FATAL(itest_json("POST", "/_test/echo", NULL, big, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 413);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "payload_too_large");
	itest_resp_free(&r);
	free(big);
}

static void test_malformed_json_is_400(void)
{
	static const char *const bodies[] = { "{\"name\":", "not json", "[1,2]", "{\"name\":\"x\"} trailing",
		                              "" };
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct itest_resp r;

		CU_ASSERT_FATAL(itest_json("POST", "/_test/echo", NULL, bodies[i], &r) == 0);
		CU_ASSERT_EQUAL(r.status, 400);
		CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "bad_request");
		itest_resp_free(&r);
	}
}

static void test_wrong_type_names_the_field(void)
{
	struct itest_resp r;

	CU_ASSERT_FATAL(itest_json("POST", "/_test/echo", NULL, "{\"name\": 42}", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "field"), "name");
	itest_resp_free(&r);
}

static void test_form_body_is_415(void)
{
	const char *h[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	struct itest_resp r;

	CU_ASSERT_FATAL(itest_request("POST", "/_test/echo", h, "name=x", 6, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 415);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "unsupported_media_type");
	itest_resp_free(&r);
}

static bool is_mediad(const struct itest_proc *p, void *ud)
{
	(void)ud;
	return strcmp(p->comm, "mediad") == 0;
}

/* Whether /proc/<pid>/environ holds NAME=... (NAME=value when value is not NULL). */
static bool env_is(pid_t pid, const char *name, const char *value)
{
	char path[64], buf[65536];
	size_t n, k = strlen(name), i = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (i < n) {
		if (strncmp(buf + i, name, k) == 0 && buf[i + k] == '=')
			return value == NULL || strcmp(buf + i + k + 1, value) == 0;
		i += strlen(buf + i) + 1;
	}
	return false;
}

/* Every program resolves its settings from mediad.conf and its own environment only: the web
 * server's variables (lighttpd needs MEDIA_ROOT for x-sendfile-docroot) must not reach the
 * responders, where they would override the file the spawner and mediactl read. */
static void test_responders_inherit_no_setting_from_the_web_server(void)
{
	static const char *const names[] = { "MEDIA_ROOT", "DATABASE_URL", "REDIS_URL", "JWT_SECRET" };
	pid_t pids[64];
	int n = itest_proc_scan(is_mediad, NULL, pids, 64), i, seen = 0;

	CU_ASSERT_FATAL(n > 0);
	for (i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pids[i]);
		if (access(path, R_OK) != 0 || !env_is(pids[i], "MEDIAD_CONFIG", getenv("MEDIAD_CONFIG")))
			continue; /* not one of this stack's (or not readable) */
		seen++;
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			if (env_is(pids[i], names[k], NULL))
				fprintf(stderr, "  responder %ld has %s in its environment\n", (long)pids[i],
				        names[k]);
			CU_ASSERT_FALSE(env_is(pids[i], names[k], NULL));
		}
	}
	CU_ASSERT(seen > 0);
}

/* A build with the /_test/ routes never serves by mistake: without MEDIAD_TEST_ROUTES=1 it stops. */
static void test_a_test_build_refuses_to_start_without_the_flag(void)
{
	const char *bdir = getenv("abs_top_builddir"), *conf = getenv("MEDIAD_CONFIG");
	char bin[1024], confenv[1100];
	char *argv[] = { bin, NULL }, *envp[] = { confenv, NULL };
	pid_t pid;
	int st = 0, i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bdir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	snprintf(bin, sizeof(bin), "%s/mediad", bdir);
	snprintf(confenv, sizeof(confenv), "MEDIAD_CONFIG=%s", conf);
	CU_ASSERT_EQUAL_FATAL(posix_spawn(&pid, bin, NULL, NULL, argv, envp), 0);
	for (i = 0; i < 200 && waitpid(pid, &st, WNOHANG) == 0; i++)
		itest_sleep_ms(50);
	if (i == 200) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 78);
}

static void test_healthz_follows_postgres_down_and_up(void)
{
	struct itest_resp r;

	CU_ASSERT_FATAL(itest_run_tool("pg-stop") == 0);
	CU_ASSERT_FATAL(itest_request("GET", "/healthz", NULL, NULL, 0, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "postgres"), "down");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "redis"), "ok");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "unavailable");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(itest_run_tool("pg-start") == 0);
	/* Every responder in the pool reconnects on its own: poll until one answers, then check
	 * that several requests in a row (likely spread over the pool) all do. */
	CU_ASSERT_TRUE(itest_wait_status("/healthz", 200, 15000));
	for (int i = 0; i < 8; i++) {
		CU_ASSERT_FATAL(itest_request("GET", "/healthz", NULL, NULL, 0, &r) == 0);
		CU_ASSERT_EQUAL(r.status, 200);
		itest_resp_free(&r);
	}
}

int main(void)
{
	CU_pSuite s;

	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("http", NULL, NULL);
	CU_add_test(s, "healthz answers ok with both stores", test_healthz_answers_ok_with_both_stores);
	CU_add_test(s, "unknown path is a JSON 404", test_unknown_path_is_json_404);
	CU_add_test(s, "wrong method is 405 with Allow", test_wrong_method_is_405_with_allow);
	CU_add_test(s, "echo round-trips JSON", test_echo_round_trips_json);
	CU_add_test(s, "body over the cap is 413", test_body_over_cap_is_413);
	CU_add_test(s, "malformed JSON is 400", test_malformed_json_is_400);
	CU_add_test(s, "wrong type names the field", test_wrong_type_names_the_field);
	CU_add_test(s, "form body is 415", test_form_body_is_415);
	/* Last: it restarts PostgreSQL. */
	CU_add_test(s, "responders inherit no setting from the web server",
	            test_responders_inherit_no_setting_from_the_web_server);
	CU_add_test(s, "a test build refuses to start without MEDIAD_TEST_ROUTES=1",
	            test_a_test_build_refuses_to_start_without_the_flag);
	CU_add_test(s, "healthz follows postgres down and up", test_healthz_follows_postgres_down_and_up);
	return itest_run_all();
}
