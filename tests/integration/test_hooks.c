/* test_hooks.c: media-hooks against the real stack and a real receiver (tests/hooks/receiver.py,
 * which checks every signature): delivery of the API's JSON, retries after a 500 and a timeout, the
 * disable threshold, --once, kill -9 mid-request, and the SSRF refusals; rtest.h says how the
 * stack and the programs are set up.
 *
 * The endpoints are inserted with SQL, not POST /webhooks: the receiver listens on loopback, which
 * the API refuses (and media-hooks too, unless webhook_allow_private is on, as it is here but for
 * the SSRF test); the SSRF test needs endpoints the API would never let in. Events come from the
 * database triggers (schema/009), by the API's own paths: a render that completes, a cancel, a
 * delete. Backoff waits are skipped by moving next_attempt_at to now in SQL. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "rtest.h"

#define SECRET "whsec_test_0123456789abcdef"
#define MAX_RECORDS 64

extern char **environ;

static char recv_dir[RTEST_DIR_SZ], recv_base[64], user_a[32];
static pid_t recv_pid = -1;
static long long project_id;

/* media-hooks settings of the tests: private addresses allowed (the receiver is on loopback), 2 s
 * attempts, 1 s polls. */
#define HOOKS_ENV(...)                                                                        \
	((const char *const[]){ __VA_ARGS__, "WEBHOOK_ALLOW_PRIVATE=on", "WEBHOOK_TIMEOUT=2", \
	                        "WEBHOOK_LEASE=15", "WEBHOOK_POLL_INTERVAL=1", NULL })
/* The overrides come first: of two values of one variable, getenv finds the first. */
#define HOOKS_DEFAULT HOOKS_ENV("WEBHOOK_CONCURRENCY=8")

/* ---- the receiver ------------------------------------------------------------------------------ */

/* Starts receiver.py in its own folder and waits (bounded) for the port it writes. */
static void receiver_start(void)
{
	const char *src = getenv("abs_top_srcdir");
	char script[RTEST_PATH_SZ], port_file[RTEST_PATH_SZ], *port = NULL;
	const char *argv[] = { "python3", script, recv_dir, SECRET, NULL };
	posix_spawn_file_actions_t fa;
	long long until = itest_now_ms() + 10000;
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	snprintf(script, sizeof(script), "%s/tests/hooks/receiver.py", src);
	snprintf(recv_dir, sizeof(recv_dir), "%s/hooks-%d", getenv("MEDIAD_TEST_DIR"), (int)getpid());
	CU_ASSERT_EQUAL_FATAL(mkdir(recv_dir, 0755), 0);
	snprintf(port_file, sizeof(port_file), "%s/port", recv_dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	CU_ASSERT_EQUAL_FATAL(
	        posix_spawnp(&recv_pid, "python3", &fa, NULL, (char *const *)(void *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	/* The receiver writes its port once it listens; the bytes are not NUL-terminated, and the
	 * file may be read while still empty. */
	for (;;) {
		char digits[16] = "";
		long n = 0;

		port = (char *)itest_slurp(port_file, &len);
		if (port != NULL && len > 0 && len < sizeof(digits)) {
			memcpy(digits, port, len);
			n = strtol(digits, NULL, 10);
		}
		free(port);
		if (n > 0 && n < 65536) {
			snprintf(recv_base, sizeof(recv_base), "http://127.0.0.1:%ld", n);
			break;
		}
		CU_ASSERT_FATAL(itest_now_ms() < until);
		itest_sleep_ms(20);
	}
}

static void receiver_stop(void)
{
	int st;

	if (recv_pid <= 0)
		return;
	kill(recv_pid, SIGTERM);
	waitpid(recv_pid, &st, 0);
	recv_pid = -1;
}

/* The file at path as a string (itest_slurp's bytes are not NUL-terminated), or NULL; *len its
 * length. The caller frees it. */
static char *slurp_text(const char *path, size_t *len)
{
	unsigned char *raw = itest_slurp(path, len);
	char *s;

	if (raw == NULL)
		return NULL;
	s = malloc(*len + 1);
	if (s != NULL) {
		memcpy(s, raw, *len);
		s[*len] = '\0';
	}
	free(raw);
	return s;
}

/* The receiver's records of tag, oldest first, into out (each put by the caller). Returns how many. */
static int received(const char *tag, struct json_object **out, int max)
{
	char path[RTEST_PATH_SZ];
	size_t len;
	char *all, *line, *nl;
	int n = 0;

	snprintf(path, sizeof(path), "%s/received.jsonl", recv_dir);
	all = slurp_text(path, &len);
	if (all == NULL)
		return 0;
	for (line = all; line < all + len; line = nl + 1) {
		struct json_object *o;
		const char *t;

		nl = strchr(line, '\n');
		if (nl == NULL)
			break; /* a line still being written */
		*nl = '\0';
		o = json_tokener_parse(line);
		t = itest_member_str(o, "tag");

		if (t != NULL && strcmp(t, tag) == 0 && n < max)
			out[n++] = o;
		else
			json_object_put(o);
	}
	free(all);
	return n;
}

static int received_count(const char *tag)
{
	struct json_object *r[MAX_RECORDS];
	int n = received(tag, r, MAX_RECORDS);

	for (int i = 0; i < n; i++)
		json_object_put(r[i]);
	return n;
}

/* Waits until the receiver has want requests of tag; false after timeout_ms. */
static bool wait_received(const char *tag, int want, int timeout_ms)
{
	long long until = itest_now_ms() + timeout_ms;

	while (received_count(tag) < want) {
		if (itest_now_ms() > until)
			return false;
		itest_sleep_ms(50);
	}
	return true;
}

/* ---- endpoints, events, media-hooks --------------------------------------------------------------- */

/* A webhook of user A to url for events (a text[] literal), inserted as the API would (see the top). */
static void add_webhook(const char *url, const char *events, char id[RTEST_UUID_LEN + 1])
{
	const char *p[] = { user_a, url, events, SECRET };

	CU_ASSERT_FATAL(rtest_sql("INSERT INTO webhooks (user_id, url, events, secret) "
	                          "VALUES ($1::bigint, $2, $3::text[], $4) RETURNING id::text",
	                          4, p, id, RTEST_UUID_LEN + 1));
}

/* The receiver's URL for path ("/ok/tag"). */
static void recv_url(char *out, size_t n, const char *path)
{
	snprintf(out, n, "%s%s", recv_base, path);
}

/* A render job of user A cancelled at once: one job.cancelled event. */
static void cancelled_job(char uuid[RTEST_UUID_LEN + 1])
{
	struct itest_resp r;
	char path[96];

	rtest_enqueue_ok(project_id, NULL, uuid);
	snprintf(path, sizeof(path), "/jobs/%s", uuid);
	CU_ASSERT_FATAL(itest_json("DELETE", path, rt.tok_a, NULL, &r) == 0);
	itest_resp_free(&r);
}

/* Runs media-hooks with args (--once among them) and over to its end; asserts it exited 0.
 * Returns its index (its log: rtest_spawner_log). */
static int hooks_run(const char *const *args, const char *const *over)
{
	int i = rtest_program_start("media-hooks", args, over), st;

	CU_ASSERT_FATAL(i >= 0);
	st = rtest_spawner_wait(i, 60000);
	CU_ASSERT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return i;
}

/* Runs media-hooks --once with over to its end; asserts it exited 0. Returns its index. */
static int hooks_once(const char *const *over)
{
	return hooks_run((const char *const[]){ "--once", NULL }, over);
}

/* Whether media-hooks i's log holds text. */
static bool log_has(int i, const char *text)
{
	size_t len;
	char *log = slurp_text(rtest_spawner_log(i), &len);
	bool found = log != NULL && strstr(log, text) != NULL;

	free(log);
	return found;
}

/* Waits until media-hooks i's log holds text; false after timeout_ms. */
static bool wait_log(int i, const char *text, int timeout_ms)
{
	long long until = itest_now_ms() + timeout_ms;

	while (!log_has(i, text)) {
		if (itest_now_ms() > until)
			return false;
		itest_sleep_ms(50);
	}
	return true;
}

/* The turns of its loop media-hooks i logged at exit, or -1. A loop that waits turns a few times a
 * second; one that spins, hundreds of thousands of times. */
static long loop_turns(int i)
{
	size_t len;
	char *log = slurp_text(rtest_spawner_log(i), &len), *at;
	long n = -1;

	at = log != NULL ? strstr(log, "exiting after ") : NULL;
	if (at != NULL)
		n = strtol(at + strlen("exiting after "), NULL, 10);
	free(log);
	return n;
}

/* Asserts that media-hooks i (ended) waited rather than spun: a few turns of its loop a second
 * over these tests' seconds, far from the hundreds of thousands a loop without a wait makes. */
static void assert_waited(int i)
{
	long turns = loop_turns(i);

	if (turns < 0 || turns > 500)
		fprintf(stderr, "\n  %ld turns of the loop\n", turns);
	CU_ASSERT(turns > 0 && turns <= 500);
}

/* Lets the receiver answer request n of a /hold/ tag. */
static void release_held(const char *tag, int n)
{
	char path[RTEST_PATH_SZ];
	int fd;

	snprintf(path, sizeof(path), "%s/release-%s-%d", recv_dir, tag, n);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CU_ASSERT(fd >= 0);
	if (fd >= 0)
		close(fd);
}

/* A text value of one of the webhook's deliveries (q takes the webhook id as $1), or "". */
static void sql_of(const char *q, const char *webhook, char *out, size_t n)
{
	const char *p[] = { webhook };

	CU_ASSERT(rtest_sql(q, 1, p, out, n));
}

/* Waits until q (the webhook id as $1) gives want; false after timeout_ms (v holds the last). */
static bool wait_sql(const char *q, const char *webhook, const char *want, char *v, size_t n, int timeout_ms)
{
	long long until = itest_now_ms() + timeout_ms;

	for (;;) {
		sql_of(q, webhook, v, n);
		if (strcmp(v, want) == 0)
			return true;
		if (itest_now_ms() > until)
			return false;
		itest_sleep_ms(50);
	}
}

/* Every delivery of the webhook is due now: the backoff wait is skipped. */
static void due_now(const char *webhook)
{
	const char *p[] = { webhook };

	CU_ASSERT(
	        rtest_sql("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE webhook_id = $1::uuid",
	                  1, p, NULL, 0));
}

/* A fresh start for each test: user A's endpoints (and so their deliveries) are removed. */
static void fresh(void)
{
	const char *p[] = { user_a };

	CU_ASSERT(rtest_sql("DELETE FROM webhooks WHERE user_id = $1::bigint", 1, p, NULL, 0));
}

/* A fresh start (fresh) and one endpoint of user A at the receiver's path for events. */
static void fresh_endpoint(const char *path, const char *events, char hook[RTEST_UUID_LEN + 1])
{
	char url[128];

	fresh();
	recv_url(url, sizeof(url), path);
	add_webhook(url, events, hook);
}

/* ---- tests ------------------------------------------------------------------------------------ */

static void test_setup_users_receiver_and_project(void)
{
	struct itest_resp r;
	long long id;

	rtest_setup_users();
	CU_ASSERT_FATAL(itest_json("GET", "/auth/me", rt.tok_a, NULL, &r) == 0 && r.status == 200);
	id = itest_member_int(itest_member(r.json, "user"), "id");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(id > 0);
	snprintf(user_a, sizeof(user_a), "%lld", id);
	receiver_start();
	project_id = rtest_project_with("still.png", NULL, NULL, 0);
}

/* The record's body as JSON, its signature good, its headers ours; the caller puts it. */
static struct json_object *checked_body(struct json_object *rec)
{
	struct json_object *body = json_tokener_parse(itest_member_str(rec, "body"));
	const char *ua = itest_member_str(rec, "user_agent");

	CU_ASSERT_TRUE(json_object_get_boolean(itest_member(rec, "sig_ok")));
	CU_ASSERT_STRING_EQUAL(itest_member_str(rec, "content_type"), "application/json");
	CU_ASSERT(ua != NULL && strncmp(ua, "mediad-webhooks/", 16) == 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	CU_ASSERT_STRING_EQUAL(itest_member_str(body, "id"), itest_member_str(rec, "event_id"));
	CU_ASSERT(itest_parse_rfc3339_utc(itest_member_str(body, "createdAt")) > 0);
	return body;
}

/* A completed render reaches the receiver signed, its data the very JSON of GET /jobs/:id; a
 * deleted media's data is the JSON GET /media/:id gave before. */
static void test_completion_is_delivered_signed_with_the_api_json(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256], path[64];
	struct json_object *rec[MAX_RECORDS], *body;
	struct itest_resp job, media;
	long long mid;

	fresh_endpoint("/ok/done", "{job.completed,media.deleted}", hook);
	rtest_enqueue_ok(project_id, NULL, uuid);
	CU_ASSERT_FATAL(rtest_spawner_once(NULL, "1") == 0);
	rtest_expect_job(uuid, "completed", 60000, &job);
	mid = itest_member_int(job.json, "outputMediaId");
	CU_ASSERT_FATAL(mid > 0);
	snprintf(path, sizeof(path), "/media/%lld", mid);
	CU_ASSERT_FATAL(itest_json("GET", path, rt.tok_a, NULL, &media) == 0 && media.status == 200);
	itest_delete_media(rt.tok_a, mid);

	hooks_once(HOOKS_DEFAULT);
	CU_ASSERT_FATAL(received("done", rec, MAX_RECORDS) == 2);
	/* The two deliveries run at once: either may come first. */
	for (int i = 0; i < 2; i++) {
		struct json_object *want;
		const char *type;

		body = checked_body(rec[i]);
		type = itest_member_str(body, "type");
		CU_ASSERT(type != NULL &&
		          (strcmp(type, "job.completed") == 0 || strcmp(type, "media.deleted") == 0));
		want = type != NULL && strcmp(type, "job.completed") == 0 ? job.json : media.json;
		CU_ASSERT_TRUE(json_object_equal(itest_member(body, "data"), want));
		json_object_put(body);
		json_object_put(rec[i]);
	}
	itest_resp_free(&job);
	itest_resp_free(&media);
	sql_of("SELECT string_agg(d.state || ' ' || d.attempts || ' ' || a.status_code || ' ' || a.response_body, "
	       "',') FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id "
	       "WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 1 200 ok,succeeded 1 200 ok");
}

/* A 500 is an attempt that failed: retried later (with a backoff of at most 10 s the first time),
 * and the retry, the same event, succeeds. */
static void test_a_500_is_retried_and_then_delivered(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];
	struct json_object *rec[MAX_RECORDS];

	fresh_endpoint("/fail/1/r500", "{job.cancelled}", hook);
	cancelled_job(uuid);
	hooks_once(HOOKS_DEFAULT);
	sql_of("SELECT d.state || ' ' || d.attempts || ' ' || d.last_status_code || ' ' || "
	       "(d.next_attempt_at > now() AND d.next_attempt_at <= now() + interval '11 s') || ' ' || "
	       "a.status_code || ' ' || a.error || ' ' || a.response_body "
	       "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "pending 1 500 true 500 HTTP 500 failing on purpose (1 of 1)");
	due_now(hook);
	hooks_once(HOOKS_DEFAULT);
	sql_of("SELECT state || ' ' || attempts || ' ' || last_status_code FROM webhook_deliveries "
	       "WHERE webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 2 200");
	CU_ASSERT_FATAL(received("r500", rec, MAX_RECORDS) == 2);
	CU_ASSERT_STRING_EQUAL(itest_member_str(rec[0], "event_id"), itest_member_str(rec[1], "event_id"));
	json_object_put(rec[0]);
	json_object_put(rec[1]);
}

/* An answer slower than webhook_timeout is a failed attempt, cut at the timeout, retried. */
static void test_a_timeout_is_retried_and_then_delivered(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];

	fresh_endpoint("/sleep/6/slow", "{job.cancelled}", hook);
	cancelled_job(uuid);
	hooks_once(HOOKS_DEFAULT);
	sql_of("SELECT d.state || ' ' || coalesce(a.status_code::text, 'none') || ' ' || "
	       "(a.latency_ms BETWEEN 1900 AND 4000) || ' ' || (a.error LIKE '%timed out%') "
	       "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "pending none true true");
	due_now(hook);
	hooks_once(HOOKS_DEFAULT);
	sql_of("SELECT state || ' ' || attempts FROM webhook_deliveries WHERE webhook_id = $1::uuid", hook, v,
	       sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 2");
	CU_ASSERT_EQUAL(received_count("slow"), 2);
}

/* webhook_disable_after failed attempts in a row, across deliveries, disable the endpoint: its
 * pending deliveries are skipped and new events no longer reach it. */
static void test_failures_in_a_row_disable_the_endpoint(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[512];

	fresh_endpoint("/fail/1000/dis", "{job.cancelled}", hook);
	for (int i = 0; i < 3; i++)
		cancelled_job(uuid);
	hooks_once(HOOKS_ENV("WEBHOOK_DISABLE_AFTER=3"));
	CU_ASSERT_EQUAL(received_count("dis"), 3);
	sql_of("SELECT enabled || ' ' || consecutive_failures || ' ' || (disabled_at IS NOT NULL) || ' ' || "
	       "disabled_reason FROM webhooks WHERE id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(
	        v, "false 3 true disabled after 3 failed delivery attempts in a row; the last: HTTP 500");
	/* Pending, but skipped while the endpoint is disabled; a new event makes no delivery. */
	cancelled_job(uuid);
	due_now(hook);
	hooks_once(HOOKS_ENV("WEBHOOK_DISABLE_AFTER=3"));
	CU_ASSERT_EQUAL(received_count("dis"), 3);
	sql_of("SELECT count(*) || ' ' || count(*) FILTER (WHERE state = 'pending') FROM webhook_deliveries "
	       "WHERE webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "3 3");
}

/* --once delivers what is due and nothing else: a delivery due in an hour is left alone. */
static void test_once_delivers_nothing_that_is_not_due(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];
	long long t0;

	fresh_endpoint("/ok/later", "{job.cancelled}", hook);
	cancelled_job(uuid);
	{
		const char *p[] = { hook };

		CU_ASSERT(
		        rtest_sql("UPDATE webhook_deliveries SET next_attempt_at = now() + interval '1 hour' "
		                  "WHERE webhook_id = $1::uuid",
		                  1, p, NULL, 0));
	}
	t0 = itest_now_ms();
	hooks_once(HOOKS_DEFAULT);
	CU_ASSERT(itest_now_ms() - t0 < 10000);
	CU_ASSERT_EQUAL(received_count("later"), 0);
	sql_of("SELECT state || ' ' || attempts || ' ' || (lease_owner IS NULL) FROM webhook_deliveries "
	       "WHERE webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "pending 0 true");
}

/* kill -9 of the daemon while the receiver holds its request: nothing is recorded, the lease runs
 * out, and a new daemon sends the same event again (at least once). */
static void test_kill9_mid_request_then_restart_delivers(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];
	struct json_object *rec[MAX_RECORDS];
	const char *const *env = HOOKS_ENV("WEBHOOK_TIMEOUT=5");
	long long until;
	int d1, d2, n;

	fresh_endpoint("/sleep/4/k9", "{job.cancelled}", hook);
	d1 = rtest_program_start("media-hooks", NULL, env);
	CU_ASSERT_FATAL(d1 >= 0);
	cancelled_job(uuid);
	CU_ASSERT_FATAL(wait_received("k9", 1, 15000));
	CU_ASSERT_FATAL(kill(rtest_spawner_pid(d1), SIGKILL) == 0);
	CU_ASSERT(rtest_spawner_wait(d1, 5000) != -1);
	sql_of("SELECT state || ' ' || attempts || ' ' || (lease_until > now()) FROM webhook_deliveries "
	       "WHERE webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "pending 0 true");
	d2 = rtest_program_start("media-hooks", NULL, env);
	CU_ASSERT_FATAL(d2 >= 0);
	/* The lease (15 s from the claim) runs out, then the next poll claims it again. */
	until = itest_now_ms() + 40000;
	do {
		itest_sleep_ms(200);
		sql_of("SELECT state || ' ' || attempts FROM webhook_deliveries WHERE webhook_id = $1::uuid",
		       hook, v, sizeof(v));
	} while (strcmp(v, "succeeded 1") != 0 && itest_now_ms() < until);
	CU_ASSERT_STRING_EQUAL(v, "succeeded 1");
	n = received("k9", rec, MAX_RECORDS);
	CU_ASSERT_EQUAL(n, 2);
	if (n == 2) {
		CU_ASSERT_STRING_EQUAL(itest_member_str(rec[0], "event_id"),
		                       itest_member_str(rec[1], "event_id"));
	}
	for (int i = 0; i < n; i++)
		json_object_put(rec[i]);
}

/* Without webhook_allow_private, every blocked address class is refused before any connection: an
 * attempt with the reason, and the receiver hears nothing. localhost resolves to loopback. */
static void test_ssrf_every_blocked_class_is_refused(void)
{
	/* Every URL has the receiver's port: where a skipped check could reach it (0.0.0.0 and an
	 * IPv4-mapped loopback lead to 127.0.0.1 on Linux), it would say so in received.jsonl. */
	static const struct {
		const char *host, *path;
		bool port;         /* the receiver's port */
		const char *error; /* a LIKE pattern */
	} cases[] = {
		{ "http://127.0.0.1", "/ok/s1", true, "blocked address 127.0.0.1 (loopback)" },
		{ "http://10.0.0.1", "/ok/s2", true, "blocked address 10.0.0.1 (private)" },
		{ "http://169.254.169.254", "/latest/meta-data/s3", true,
		  "blocked address 169.254.169.254 (link-local)" },
		{ "http://[::1]", "/ok/s4", true, "blocked address ::1 (loopback)" },
		{ "http://[fe80::1]", "/ok/s5", true, "blocked address fe80::1 (link-local)" },
		{ "http://localhost", "/ok/s6", true, "blocked address % (loopback)" },
		{ "https://100.64.0.1", "/ok/s7", true, "blocked address 100.64.0.1 (shared address space)" },
		{ "http://0.0.0.0", "/ok/s8", true, "blocked address 0.0.0.0 (this network)" },
		{ "http://[::ffff:127.0.0.1]", "/ok/s9", true,
		  "blocked address ::ffff:127.0.0.1 (loopback)" },
		{ "http://192.168.1.1", "/ok/s10", true, "blocked address 192.168.1.1 (private)" },
		{ "http://172.16.0.1", "/ok/s11", true, "blocked address 172.16.0.1 (private)" },
	};
	char hooks[sizeof(cases) / sizeof(cases[0])][RTEST_UUID_LEN + 1], url[128], uuid[RTEST_UUID_LEN + 1],
	        v[512];
	const char *port = strrchr(recv_base, ':') + 1;

	fresh();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(url, sizeof(url), "%s%s%s%s", cases[i].host, cases[i].port ? ":" : "",
		         cases[i].port ? port : "", cases[i].path);
		add_webhook(url, "{job.cancelled}", hooks[i]);
	}
	cancelled_job(uuid);
	hooks_once(HOOKS_ENV("WEBHOOK_ALLOW_PRIVATE=off"));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p[] = { hooks[i], cases[i].error };

		CU_ASSERT(rtest_sql(
		        "SELECT d.state || ' ' || d.attempts || ' ' || coalesce(a.status_code::text, 'none') "
		        "|| ' ' || (a.error LIKE $2) || ' ' || a.error "
		        "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id "
		        "WHERE d.webhook_id = $1::uuid",
		        2, p, v, sizeof(v)));
		if (strncmp(v, "pending 1 none true ", 20) != 0)
			fprintf(stderr, "\n  %s%s: %s\n", cases[i].host, cases[i].path, v);
		CU_ASSERT(strncmp(v, "pending 1 none true ", 20) == 0);
	}
	for (int i = 1; i <= (int)(sizeof(cases) / sizeof(cases[0])); i++) {
		char tag[8];

		snprintf(tag, sizeof(tag), "s%d", i);
		CU_ASSERT_EQUAL(received_count(tag), 0);
	}
}

/* A host name, not a literal: its checked addresses are pinned (CURLOPT_RESOLVE) and reached. */
static void test_a_host_name_is_pinned_and_delivered(void)
{
	char hook[RTEST_UUID_LEN + 1], url[128], uuid[RTEST_UUID_LEN + 1], v[256];

	fresh();
	snprintf(url, sizeof(url), "http://localhost:%s/ok/pin", strrchr(recv_base, ':') + 1);
	add_webhook(url, "{job.cancelled}", hook);
	cancelled_job(uuid);
	hooks_once(HOOKS_DEFAULT);
	sql_of("SELECT d.state || ' ' || d.attempts || ' ' || a.status_code || ' ' || a.response_body "
	       "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 1 200 ok");
	CU_ASSERT_EQUAL(received_count("pin"), 1);
}

/* A lease taken over (it ran out, here by hand, and a second process claimed the delivery): the
 * first process's answer is recorded nowhere; the second's is. Lease tokens carry a random nonce. */
static void test_a_lease_taken_over_records_nothing_of_the_first(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256], first[160];
	const char *const *env = HOOKS_ENV("WEBHOOK_TIMEOUT=10", "WEBHOOK_LEASE=30");
	int d1, d2, st;

	fresh_endpoint("/hold/fence", "{job.cancelled}", hook);
	/* One slot: d1 claims nothing more while its request is held. */
	d1 = rtest_program_start("media-hooks", (const char *const[]){ "--concurrency", "1", NULL }, env);
	CU_ASSERT_FATAL(d1 >= 0);
	cancelled_job(uuid);
	CU_ASSERT_FATAL(wait_received("fence", 1, 15000));
	sql_of("SELECT lease_owner FROM webhook_deliveries WHERE webhook_id = $1::uuid", hook, first,
	       sizeof(first));
	sql_of("SELECT (lease_owner ~ '#[0-9a-f]{16}\\.[0-9]+$')::text FROM webhook_deliveries "
	       "WHERE webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "true");
	{
		const char *p[] = { hook };

		CU_ASSERT(rtest_sql("UPDATE webhook_deliveries SET lease_until = now() - interval '1 s' "
		                    "WHERE webhook_id = $1::uuid",
		                    1, p, NULL, 0));
	}
	d2 = rtest_program_start("media-hooks", (const char *const[]){ "--once", NULL }, env);
	CU_ASSERT_FATAL(d2 >= 0);
	CU_ASSERT_FATAL(wait_received("fence", 2, 15000));
	{
		const char *p[] = { hook, first };

		CU_ASSERT(rtest_sql(
		        "SELECT (lease_owner <> $2)::text FROM webhook_deliveries WHERE webhook_id = $1::uuid",
		        2, p, v, sizeof(v)));
		CU_ASSERT_STRING_EQUAL(v, "true");
	}
	/* d1's answer comes first: its write finds another lease and writes nothing. */
	release_held("fence", 1);
	CU_ASSERT(wait_log(d1, "no longer ours", 15000));
	sql_of("SELECT d.state || ' ' || d.attempts || ' ' || (SELECT count(*) FROM webhook_attempts a "
	       "WHERE a.delivery_id = d.id) FROM webhook_deliveries d WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "pending 0 0");
	release_held("fence", 2);
	st = rtest_spawner_wait(d2, 20000);
	CU_ASSERT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sql_of("SELECT string_agg(d.state || ' ' || d.attempts || ' ' || a.attempt || ' ' || a.response_body, ',') "
	       "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 1 1 released 2");
}

/* The API's retry (its statement clears the lease) while an attempt is in flight: the delivery is
 * sent again under a new lease token, and only that attempt is recorded. */
static void test_a_retry_during_an_attempt_records_only_the_new_one(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];
	int d1;

	fresh_endpoint("/hold/rty", "{job.cancelled}", hook);
	d1 = rtest_program_start("media-hooks", NULL, HOOKS_ENV("WEBHOOK_TIMEOUT=10", "WEBHOOK_LEASE=30"));
	CU_ASSERT_FATAL(d1 >= 0);
	cancelled_job(uuid);
	CU_ASSERT_FATAL(wait_received("rty", 1, 15000));
	{
		const char *p[] = { hook };

		CU_ASSERT(rtest_sql(
		        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = now(), "
		        "window_from = now(), lease_owner = NULL, lease_until = NULL, finished_at = NULL "
		        "WHERE webhook_id = $1::uuid",
		        1, p, NULL, 0));
	}
	CU_ASSERT_FATAL(wait_received("rty", 2, 15000));
	release_held("rty", 1);
	CU_ASSERT(wait_log(d1, "no longer ours", 15000));
	release_held("rty", 2);
	CU_ASSERT(wait_sql("SELECT string_agg(d.state || ' ' || d.attempts || ' ' || a.response_body, ',') "
	                   "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id "
	                   "WHERE d.webhook_id = $1::uuid",
	                   hook, "succeeded 1 released 2", v, sizeof(v), 15000));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 1 released 2");
}

/* A 302 is an answer that is not a 2xx: a failed attempt, and its Location is never followed. */
static void test_a_302_is_not_followed(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];

	fresh_endpoint("/redirect/r302", "{job.cancelled}", hook);
	cancelled_job(uuid);
	hooks_once(HOOKS_DEFAULT);
	sql_of("SELECT d.state || ' ' || d.attempts || ' ' || a.status_code || ' ' || a.error "
	       "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "pending 1 302 HTTP 302");
	CU_ASSERT_EQUAL(received_count("r302"), 1);
	CU_ASSERT_EQUAL(received_count("r302-followed"), 0);
}

/* An answer past 4 KiB is stored cut at 4096 bytes, as text: the character the cut splits is '?'. */
static void test_a_long_answer_is_stored_cut_at_4096_bytes(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];

	fresh_endpoint("/big/big", "{job.cancelled}", hook);
	cancelled_job(uuid);
	hooks_once(HOOKS_DEFAULT);
	/* "a", 2047 whole e-acutes (4094 bytes), then the first byte of the next one: '?' */
	sql_of("SELECT d.state || ' ' || a.status_code || ' ' || octet_length(a.response_body) || ' ' || "
	       "char_length(a.response_body) || ' ' || left(a.response_body, 3) || ' ' || right(a.response_body, 2) "
	       "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 200 4096 2049 a\xc3\xa9\xc3\xa9 \xc3\xa9?");
}

/* SIGTERM: nothing more is claimed (an event announced meanwhile stays pending), the request in
 * flight finishes and is recorded, the process exits 0, and it waited without spinning. */
static void test_sigterm_finishes_the_attempt_in_flight_without_spinning(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];
	int d, st;

	fresh_endpoint("/sleep/3/term", "{job.cancelled}", hook);
	d = rtest_program_start("media-hooks", NULL, HOOKS_ENV("WEBHOOK_TIMEOUT=8", "WEBHOOK_LEASE=30"));
	CU_ASSERT_FATAL(d >= 0);
	cancelled_job(uuid);
	CU_ASSERT_FATAL(wait_received("term", 1, 15000));
	CU_ASSERT_FATAL(kill(rtest_spawner_pid(d), SIGTERM) == 0);
	CU_ASSERT(wait_log(d, "stopping:", 5000));
	/* Its NOTIFY wakes the stopping loop, which must not claim it, nor spin on the wake-up. */
	cancelled_job(uuid);
	st = rtest_spawner_wait(d, 20000);
	CU_ASSERT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sql_of("SELECT string_agg(state || ' ' || attempts, ',' ORDER BY attempts DESC) FROM webhook_deliveries "
	       "WHERE webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 1,pending 0");
	assert_waited(d);
}

/* --once that has claimed all there was waits for its last slow request without spinning, though
 * a slot came free meanwhile (a refusal). The refusal of a trailing-dot host says so. */
static void test_once_waits_for_a_slow_answer_without_spinning(void)
{
	char hook[RTEST_UUID_LEN + 1], bad[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];
	int d;

	fresh_endpoint("/sleep/3/spin", "{job.cancelled}", hook);
	add_webhook("http://hooks.example.com./x", "{job.cancelled}", bad);
	cancelled_job(uuid);
	d = hooks_once(HOOKS_ENV("WEBHOOK_TIMEOUT=8", "WEBHOOK_LEASE=30"));
	sql_of("SELECT state || ' ' || attempts FROM webhook_deliveries WHERE webhook_id = $1::uuid", hook, v,
	       sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 1");
	sql_of("SELECT d.state || ' ' || a.error FROM webhook_deliveries d JOIN webhook_attempts a "
	       "ON a.delivery_id = d.id WHERE d.webhook_id = $1::uuid",
	       bad, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "pending a host name ending in a dot is not delivered to (remove the dot)");
	assert_waited(d);
}

/* --once --max-time S claims nothing after S seconds: with one slot and 2 s answers, max-time 3
 * sends the first two deliveries (claimed at about 0 and 2 s) and leaves the third alone. */
static void test_once_max_time_stops_the_claims(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];

	fresh_endpoint("/sleepall/2/mt", "{job.cancelled}", hook);
	for (int i = 0; i < 3; i++)
		cancelled_job(uuid);
	hooks_run((const char *const[]){ "--once", "--max-time", "3", "--concurrency", "1", NULL },
	          HOOKS_ENV("WEBHOOK_TIMEOUT=5", "WEBHOOK_LEASE=30"));
	sql_of("SELECT string_agg(state || ' ' || attempts || ' ' || (lease_owner IS NULL), ',' "
	       "ORDER BY attempts DESC, state DESC) FROM webhook_deliveries WHERE webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "succeeded 1 true,succeeded 1 true,pending 0 true");
	CU_ASSERT_EQUAL(received_count("mt"), 2);
}

/* webhook_max_age: a delivery past it fails unsent; one whose next wait would pass it fails after
 * its attempt instead of being retried. */
static void test_max_age_fails_what_is_too_old(void)
{
	char hook[RTEST_UUID_LEN + 1], hook2[RTEST_UUID_LEN + 1], url[128], uuid[RTEST_UUID_LEN + 1], v[256];

	fresh_endpoint("/ok/old", "{job.cancelled}", hook);
	recv_url(url, sizeof(url), "/fail/1000/edge");
	add_webhook(url, "{job.cancelled}", hook2);
	cancelled_job(uuid);
	{
		const char *p[] = { hook, hook2 };

		CU_ASSERT(rtest_sql(
		        "UPDATE webhook_deliveries SET window_from = CASE WHEN webhook_id = $1::uuid "
		        "THEN now() - interval '2 days' ELSE now() - interval '119 s' END "
		        "WHERE webhook_id IN ($1::uuid, $2::uuid)",
		        2, p, NULL, 0));
	}
	hooks_once(HOOKS_ENV("WEBHOOK_MAX_AGE=120"));
	sql_of("SELECT state || ' ' || attempts || ' ' || (finished_at IS NOT NULL) || ' ' || last_error "
	       "FROM webhook_deliveries WHERE webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "failed 0 true not delivered within webhook_max_age (120 s)");
	CU_ASSERT_EQUAL(received_count("old"), 0);
	sql_of("SELECT state || ' ' || attempts || ' ' || (finished_at IS NOT NULL) || ' ' || last_error "
	       "FROM webhook_deliveries WHERE webhook_id = $1::uuid",
	       hook2, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "failed 1 true HTTP 500");
	CU_ASSERT_EQUAL(received_count("edge"), 1);
}

/* An event whose payload cannot be built is our fault, not the endpoint's: the attempt is recorded
 * with why, and the endpoint's failures in a row stay as they were. */
static void test_a_fault_of_ours_is_not_charged_to_the_endpoint(void)
{
	char hook[RTEST_UUID_LEN + 1], v[256];
	const char *p[2];

	fresh_endpoint("/ok/ours", "{job.completed}", hook);
	p[0] = user_a;
	p[1] = hook;
	/* A snapshot no row type can read: a JSON string where an object belongs. */
	CU_ASSERT_FATAL(
	        rtest_sql("WITH e AS (INSERT INTO webhook_events (user_id, type, subject) "
	                  "VALUES ($1::bigint, 'job.completed', '\"not a job\"'::jsonb) RETURNING id) "
	                  "INSERT INTO webhook_deliveries (webhook_id, event_id) SELECT $2::uuid, id FROM e",
	                  2, p, NULL, 0));
	hooks_once(HOOKS_DEFAULT);
	sql_of("SELECT d.state || ' ' || d.attempts || ' ' || (a.error LIKE 'the event''s payload cannot be built%') "
	       "|| ' ' || w.consecutive_failures || ' ' || w.enabled "
	       "FROM webhook_deliveries d JOIN webhook_attempts a ON a.delivery_id = d.id "
	       "JOIN webhooks w ON w.id = d.webhook_id WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "pending 1 true 0 true");
	CU_ASSERT_EQUAL(received_count("ours"), 0);
}

/* An endpoint deleted (softly, as DELETE /webhooks/:id does) while an attempt is in flight: the
 * attempt is recorded, failed, and ends its delivery (no retry), without counting against the
 * endpoint; its other pending delivery is never claimed. */
static void test_an_endpoint_deleted_meanwhile_gets_nothing_more(void)
{
	char hook[RTEST_UUID_LEN + 1], uuid[RTEST_UUID_LEN + 1], v[256];
	const char *p[1];
	int d, st;

	fresh_endpoint("/holdfail/gone", "{job.cancelled}", hook);
	p[0] = hook;
	d = rtest_program_start("media-hooks", (const char *const[]){ "--concurrency", "1", NULL },
	                        HOOKS_ENV("WEBHOOK_TIMEOUT=10", "WEBHOOK_LEASE=30"));
	CU_ASSERT_FATAL(d >= 0);
	cancelled_job(uuid);
	cancelled_job(uuid);
	CU_ASSERT_FATAL(wait_received("gone", 1, 15000));
	CU_ASSERT(rtest_sql("UPDATE webhooks SET deleted_at = now(), enabled = false WHERE id = $1::uuid", 1,
	                    p, NULL, 0));
	release_held("gone", 1);
	CU_ASSERT(wait_log(d, "HTTP 500", 15000));
	CU_ASSERT_FATAL(kill(rtest_spawner_pid(d), SIGTERM) == 0);
	st = rtest_spawner_wait(d, 20000);
	CU_ASSERT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	sql_of("SELECT string_agg(d.state || ' ' || d.attempts || ' ' || (d.finished_at IS NOT NULL), ',' "
	       "ORDER BY d.attempts DESC) || ' ' || min(w.consecutive_failures) "
	       "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.webhook_id = $1::uuid",
	       hook, v, sizeof(v));
	CU_ASSERT_STRING_EQUAL(v, "failed 1 true,pending 0 false 0");
	CU_ASSERT_EQUAL(received_count("gone"), 1);
}

static void test_last_stop_the_receiver(void)
{
	fresh();
	receiver_stop();
}

int main(void)
{
	CU_pSuite s;

	if (rtest_init("test_hooks") != 0)
		return 1;
	s = CU_add_suite_with_setup_and_teardown("hooks", NULL, NULL, rtest_test_setup, rtest_test_teardown);
	CU_add_test(s, "users, the receiver and a project", test_setup_users_receiver_and_project);
	CU_add_test(s, "a completion is delivered, signed, with the API's JSON",
	            test_completion_is_delivered_signed_with_the_api_json);
	CU_add_test(s, "a 500 is retried and then delivered", test_a_500_is_retried_and_then_delivered);
	CU_add_test(s, "a timeout is retried and then delivered",
	            test_a_timeout_is_retried_and_then_delivered);
	CU_add_test(s, "failures in a row disable the endpoint", test_failures_in_a_row_disable_the_endpoint);
	CU_add_test(s, "--once delivers nothing that is not due", test_once_delivers_nothing_that_is_not_due);
	CU_add_test(s, "kill -9 mid-request, then a restart: delivered",
	            test_kill9_mid_request_then_restart_delivers);
	CU_add_test(s, "SSRF: every blocked address class is refused",
	            test_ssrf_every_blocked_class_is_refused);
	CU_add_test(s, "a host name is pinned and delivered", test_a_host_name_is_pinned_and_delivered);
	CU_add_test(s, "a lease taken over records nothing of the first",
	            test_a_lease_taken_over_records_nothing_of_the_first);
	CU_add_test(s, "a retry during an attempt records only the new one",
	            test_a_retry_during_an_attempt_records_only_the_new_one);
	CU_add_test(s, "a 302 is not followed", test_a_302_is_not_followed);
	CU_add_test(s, "a long answer is stored cut at 4096 bytes",
	            test_a_long_answer_is_stored_cut_at_4096_bytes);
	CU_add_test(s, "SIGTERM finishes the attempt in flight without spinning",
	            test_sigterm_finishes_the_attempt_in_flight_without_spinning);
	CU_add_test(s, "--once waits for a slow answer without spinning",
	            test_once_waits_for_a_slow_answer_without_spinning);
	CU_add_test(s, "--once --max-time stops the claims", test_once_max_time_stops_the_claims);
	CU_add_test(s, "webhook_max_age fails what is too old", test_max_age_fails_what_is_too_old);
	CU_add_test(s, "a fault of ours is not charged to the endpoint",
	            test_a_fault_of_ours_is_not_charged_to_the_endpoint);
	CU_add_test(s, "an endpoint deleted meanwhile gets nothing more",
	            test_an_endpoint_deleted_meanwhile_gets_nothing_more);
	CU_add_test(s, "the receiver stops", test_last_stop_the_receiver);
	return rtest_run_and_clean();
}
