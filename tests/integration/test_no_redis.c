/* test_no_redis.c: mediad with an empty redis_url (issue 19): healthy, every route served, limits
 * counted per process but the account lock in PostgreSQL (for every process at once), logout held
 * by PostgreSQL, no Redis tried. Runs against the stack of run-no-redis.sh (HARNESS_NO_REDIS=1,
 * MEDIAD_PROCS responders (2 or more), login_rate_ip_email = 5, login_fail_account = 8); any other
 * stack has Redis, and then it says so and passes without testing. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

/* run-no-redis.sh's settings. */
#define IP_EMAIL_LIMIT 5
#define ACCOUNT_LIMIT 8

static char dir[256]; /* the fixture made by ffmpeg at test time */
static int procs;     /* MEDIAD_PROCS: the responders of the JSON routes */
static char wav[300]; /* dir/tone.wav */
static unsigned uniq;

static long get_status(const char *path, const char *tok, char *cache, size_t n)
{
	struct itest_resp r;
	long st;

	if (cache != NULL)
		cache[0] = '\0';
	if (itest_json("GET", path, tok, NULL, &r) != 0)
		return -1;
	st = r.status;
	if (cache != NULL)
		itest_header(&r, "X-Cache", cache, n);
	itest_resp_free(&r);
	return st;
}

/* POST /auth/login from address ip (X-Forwarded-For: the web server is the trusted proxy). */
static long login(const char *ip, const char *email, const char *password)
{
	char xff[64], body[512];
	const char *h[] = { "Content-Type: application/json", xff, NULL };
	struct itest_resp r;
	long st;

	snprintf(xff, sizeof(xff), "X-Forwarded-For: %s", ip);
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
	if (itest_request("POST", "/auth/login", h, body, strlen(body), &r) != 0)
		return -1;
	st = r.status;
	if (st == 429)
		CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "rate_limited");
	itest_resp_free(&r);
	return st;
}

/* The log the responder writes to (mediad.log), and its size now. */
static long log_size(void)
{
	char path[512];
	FILE *f;
	long n = 0;

	snprintf(path, sizeof(path), "%s/log/mediad.log", getenv("MEDIAD_TEST_DIR"));
	f = fopen(path, "r");
	if (f != NULL && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (f != NULL)
		fclose(f);
	return n;
}

/* mediad's lines past offset from, access lines aside; each one is printed. */
static int log_lines_since(long from)
{
	char path[512], line[2048];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/log/mediad.log", getenv("MEDIAD_TEST_DIR"));
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fseek(f, from, SEEK_SET) == 0)
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "mediad[") != NULL && strstr(line, " access rid=") == NULL) {
				fprintf(stderr, "\n  log: %s", line);
				n++;
			}
	fclose(f);
	return n;
}

static void test_healthz_is_200_ok_with_redis_not_configured(void)
{
	struct itest_resp r;

	CU_ASSERT_FATAL(itest_json("GET", "/healthz", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "status"), "ok");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "postgres"), "ok");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "redis"), "not configured");
	CU_ASSERT_PTR_NULL(itest_jstr(&r, "error"));
	itest_resp_free(&r);
}

/* Each responder counts the window itself: IP_EMAIL_LIMIT attempts pass whichever process takes
 * them, and a 429 comes at the latest once every process has counted its own IP_EMAIL_LIMIT (the
 * web server may send them all to one: then at the next). The account lock, shared, may come
 * first: the 429 is the first refusal either way. */
static void test_the_login_limit_per_ip_and_email_holds_per_process(void)
{
	char email[128];
	int i, fails = 0;
	long st = 0;

	snprintf(email, sizeof(email), "nr-rl-%ld-%u@example.com", (long)time(NULL), ++uniq);
	for (i = 0; i < IP_EMAIL_LIMIT; i++) {
		CU_ASSERT_EQUAL(login("198.51.100.7", email, "WrongPassword"), 401);
		fails++;
	}
	for (i = 0; i < IP_EMAIL_LIMIT * (procs - 1) + 1; i++) {
		st = login("198.51.100.7", email, "WrongPassword");
		if (st != 401)
			break;
		fails++;
	}
	CU_ASSERT_EQUAL(st, 429);
	/* Another address is another window (unless the account lock is full by now). */
	CU_ASSERT_EQUAL(login("198.51.100.8", email, "WrongPassword"), fails < ACCOUNT_LIMIT ? 401 : 429);
}

/* The pids of the responders that answered POST /auth/login in mediad.log past offset from, into
 * pids (at most max); returns how many differ. */
static int login_pids_since(long from, long *pids, int max)
{
	char path[512], line[2048];
	FILE *f;
	int n = 0, i;

	snprintf(path, sizeof(path), "%s/log/mediad.log", getenv("MEDIAD_TEST_DIR"));
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	if (fseek(f, from, SEEK_SET) == 0)
		while (fgets(line, sizeof(line), f) != NULL) {
			const char *p = strstr(line, " mediad[");
			long pid;

			if (p == NULL || strstr(line, " access rid=") == NULL ||
			    strstr(line, " POST /auth/login ") == NULL)
				continue;
			pid = strtol(p + 8, NULL, 10);
			for (i = 0; i < n && pids[i] != pid; i++)
				;
			if (i == n && n < max)
				pids[n++] = pid;
		}
	fclose(f);
	return n;
}

/* login() in a child of ours: its status as the exit code (0: 401, 1: 429, 2: anything else). */
static pid_t login_in_child(const char *ip, const char *email, const char *password)
{
	pid_t pid = fork();

	if (pid == 0) {
		long st = login(ip, email, password);

		_exit(st == 401 ? 0 : st == 429 ? 1 : 2);
	}
	return pid;
}

static int child_status(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

/*
 * The account lock is one count for every responder (kept in PostgreSQL): ACCOUNT_LIMIT failures,
 * sent in pairs at once so that two processes take them (each serves one request at a time), lock
 * the account, the right password too. Counted per process, each would have seen half, and the
 * right password would pass. Each attempt from its own address: the per-address windows never
 * fill.
 */
static void test_the_account_lock_holds_across_processes(void)
{
	char tok[4096], email[256], ip[32];
	long from, pids[16];
	pid_t kids[2];
	int i, k, n = 0, seen;

	itest_login(tok, sizeof(tok), email, sizeof(email), "nr-lock-all");
	from = log_size();
	for (i = 0; i < ACCOUNT_LIMIT; i += 2) {
		for (k = 0; k < 2 && i + k < ACCOUNT_LIMIT; k++) {
			snprintf(ip, sizeof(ip), "192.0.2.%d", ++n);
			kids[k] = login_in_child(ip, email, "WrongPassword");
			CU_ASSERT_FATAL(kids[k] > 0);
		}
		while (k-- > 0)
			CU_ASSERT_EQUAL(child_status(kids[k]), 0); /* a 401 */
	}
	seen = login_pids_since(from, pids, 16);
	if (procs >= 2)
		CU_ASSERT_TRUE(seen >= 2); /* else the test shows nothing about processes */
	fprintf(stderr, "\n  %d failure(s) taken by %d process(es) of %d\n", ACCOUNT_LIMIT, seen, procs);
	snprintf(ip, sizeof(ip), "192.0.2.%d", ++n);
	CU_ASSERT_EQUAL(login(ip, email, "Password123"), 429);
}

/* Finished windows do not pile up: a failed login deletes rows whose window ended. */
static void test_finished_windows_are_pruned(void)
{
	char email[128], out[256];
	const char *ins[] = {
		"psql",
		"-X",
		"-q",
		"-tA",
		"-c",
		"INSERT INTO login_failures (key, window_start, failures) VALUES "
		"(repeat('e', 32), now() - interval '1 day', 3) ON CONFLICT (key) DO UPDATE SET "
		"window_start = EXCLUDED.window_start",
		NULL
	};
	const char *count[] = { "psql", "-X",
		                "-q",   "-tA",
		                "-c",   "SELECT count(*) FROM login_failures WHERE key = repeat('e', 32)",
		                NULL };

	CU_ASSERT_FATAL(itest_run_capture(ins, out, sizeof(out)) == 0);
	CU_ASSERT_EQUAL(itest_run_capture(count, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(strtol(out, NULL, 10), 1);
	snprintf(email, sizeof(email), "nr-prune-%ld-%u@example.com", (long)time(NULL), ++uniq);
	CU_ASSERT_EQUAL(login("198.51.100.30", email, "WrongPassword"), 401);
	CU_ASSERT_EQUAL(itest_run_capture(count, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(strtol(out, NULL, 10), 0);
}

/* The account lock counts failures since the last success: a success clears them (the shared row),
 * and ACCOUNT_LIMIT failures after it still lock the account. Each attempt comes from its own
 * address, so the per-address windows never fill. */
static void test_a_success_clears_the_account_failures_without_redis(void)
{
	char tok[4096], email[256], ip[32];
	int i, n = 0;

	itest_login(tok, sizeof(tok), email, sizeof(email), "nr-lock");
	for (i = 0; i < ACCOUNT_LIMIT - 1; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", ++n);
		CU_ASSERT_EQUAL(login(ip, email, "WrongPassword"), 401);
	}
	snprintf(ip, sizeof(ip), "203.0.113.%d", ++n);
	CU_ASSERT_EQUAL(login(ip, email, "Password123"), 200);
	for (i = 0; i < ACCOUNT_LIMIT; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", ++n);
		CU_ASSERT_EQUAL(login(ip, email, "WrongPassword"), 401);
	}
	snprintf(ip, sizeof(ip), "203.0.113.%d", ++n);
	CU_ASSERT_EQUAL(login(ip, email, "Password123"), 429);
}

static void test_a_logged_out_token_is_refused(void)
{
	char tok[4096], other[4096];
	struct itest_resp r;
	int i;

	itest_login(tok, sizeof(tok), NULL, 0, "nr-out");
	itest_login(other, sizeof(other), NULL, 0, "nr-stay");
	CU_ASSERT_EQUAL(get_status("/auth/me", tok, NULL, 0), 200);
	CU_ASSERT_FATAL(itest_json("POST", "/auth/logout", tok, "{}", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_resp_free(&r);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(get_status("/auth/me", tok, NULL, 0), 401);
		CU_ASSERT_EQUAL(get_status("/auth/me", other, NULL, 0), 200);
	}
}

/* Analytics answer from PostgreSQL every time (no cache: X-Cache is always a miss), and count. */
static void test_analytics_answer_from_postgres(void)
{
	const struct itest_req up = { .method = "POST", .path = "/media", .file = wav };
	struct itest_req q = up;
	char tok[4096], path[96], cache[32], body[256];
	struct itest_resp r;
	long long id = -1, pid;
	int i;

	itest_login(tok, sizeof(tok), NULL, 0, "nr-analytics");
	q.token = tok;
	CU_ASSERT_FATAL(itest_send(&q, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	if (r.status == 201)
		id = itest_member_int(r.json, "id");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(id > 0);
	pid = itest_new_project(tok, "no redis", NULL);
	CU_ASSERT_FATAL(pid > 0);

	snprintf(path, sizeof(path), "/media/%lld/analytics", id);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(get_status(path, tok, cache, sizeof(cache)), 200);
		CU_ASSERT_STRING_EQUAL(cache, "miss");
	}
	/* A view (the view limit is counted in this process too), then the total says so. */
	snprintf(path, sizeof(path), "/media/%lld/view", id);
	{
		const struct itest_req v = { .method = "POST", .path = path, .token = tok, .body = "" };

		CU_ASSERT_FATAL(itest_send(&v, &r) == 0);
		CU_ASSERT_EQUAL(r.status, 201);
		itest_resp_free(&r);
	}
	snprintf(path, sizeof(path), "/media/%lld/analytics", id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "total_views"), 1);
	itest_resp_free(&r);

	snprintf(body, sizeof(body), "{\"projectId\":%lld,\"eventType\":\"play\"}", pid);
	CU_ASSERT_FATAL(itest_json("POST", "/analytics", tok, body, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/projects/%lld/analytics", pid);
	CU_ASSERT_EQUAL(get_status(path, tok, NULL, 0), 200);
	itest_delete_media(tok, id);
	itest_delete_project(tok, pid);
}

/* Nothing tries Redis: a run of requests of every kind leaves no line in the log. */
static void test_requests_log_nothing_about_redis(void)
{
	char tok[4096];
	long from;
	int i, lines;

	itest_login(tok, sizeof(tok), NULL, 0, "nr-quiet");
	from = log_size();
	for (i = 0; i < 20; i++) {
		CU_ASSERT_EQUAL(get_status("/auth/me", tok, NULL, 0), 200);
		CU_ASSERT_EQUAL(get_status("/healthz", NULL, NULL, 0), 200);
		CU_ASSERT_EQUAL(get_status("/projects", tok, NULL, 0), 200);
	}
	lines = log_lines_since(from);
	CU_ASSERT_EQUAL(lines, 0);
}

/* A malformed redis_url is still refused at start-up, with the reason. */
static void test_mediad_refuses_a_malformed_redis_url(void)
{
	const char *mediad = getenv("HARNESS_MEDIAD");
	char cmd[1024], out[4096];
	const char *argv[] = { "sh", "-c", cmd, NULL };

	CU_ASSERT_FATAL(mediad != NULL);
	/* --help-free check: mediad with a bad URL exits before it serves; stdin is /dev/null. */
	snprintf(cmd, sizeof(cmd), "REDIS_URL='redis://a@b@host' '%s' 2>&1; echo \"exit=$?\"", mediad);
	CU_ASSERT_EQUAL(itest_run_capture(argv, out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "redis_url"));
	CU_ASSERT_PTR_NULL(strstr(out, "exit=0"));
	/* mediactl config: empty is fine, malformed is not. */
	snprintf(cmd, sizeof(cmd), "REDIS_URL= '%s' config >/dev/null 2>&1; echo \"exit=$?\"",
	         getenv("MEDIACTL"));
	CU_ASSERT_EQUAL(itest_run_capture(argv, out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "exit=0"));
	snprintf(cmd, sizeof(cmd), "REDIS_URL='redis://a@b@host' '%s' config 2>&1; echo \"exit=$?\"",
	         getenv("MEDIACTL"));
	CU_ASSERT_EQUAL(itest_run_capture(argv, out, sizeof(out)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "redis_url"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "exit=78"));
}

static int suite_init(void)
{
	const char *t = getenv("MEDIAD_TEST_DIR");

	snprintf(dir, sizeof(dir), "%s/nr-XXXXXX", t ? t : "/tmp");
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
	return 0;
}

int main(void)
{
	CU_pSuite s;

	signal(SIGPIPE, SIG_IGN);
	if (getenv("MEDIAD_NO_REDIS") == NULL) {
		printf("test_no_redis: this stack has Redis: nothing to test (run-no-redis.sh runs it)\n");
		return 0;
	}
	procs = getenv("MEDIAD_PROCS") != NULL ? (int)strtol(getenv("MEDIAD_PROCS"), NULL, 10) : 2;
	if (procs < 1)
		procs = 1;
	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("no redis", suite_init, suite_clean);
	CU_add_test(s, "healthz is 200 ok with redis not configured",
	            test_healthz_is_200_ok_with_redis_not_configured);
	CU_add_test(s, "the login limit per IP and email holds per process",
	            test_the_login_limit_per_ip_and_email_holds_per_process);
	CU_add_test(s, "a success clears the account failures without Redis",
	            test_a_success_clears_the_account_failures_without_redis);
	CU_add_test(s, "the account lock holds across processes",
	            test_the_account_lock_holds_across_processes);
	CU_add_test(s, "finished windows are pruned", test_finished_windows_are_pruned);
	CU_add_test(s, "a logged-out token is refused", test_a_logged_out_token_is_refused);
	CU_add_test(s, "analytics answer from PostgreSQL", test_analytics_answer_from_postgres);
	CU_add_test(s, "requests log nothing about Redis", test_requests_log_nothing_about_redis);
	CU_add_test(s, "mediad refuses a malformed redis_url", test_mediad_refuses_a_malformed_redis_url);
	return itest_run_all();
}
