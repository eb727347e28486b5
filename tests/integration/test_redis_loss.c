/* test_redis_loss.c: Redis is a cache (issue 11, section 4): a flush, a restart or an outage of the
 * real Redis loses no revocation and no data, and while it is down every route keeps answering. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

/* login_rate_ip_email's default: login attempts per minute per IP and email. */
#define LOGIN_LIMIT 10

static char dir[256]; /* the fixture made by ffmpeg at test time */
static char wav[300]; /* dir/tone.wav */
static PGconn *db;
static unsigned uniq;

/* ---- Redis, the way an operator touches it --------------------------------------------------- */

static redisContext *redis_open(void)
{
	const char *sock = getenv("REDIS_SOCKET");
	struct timeval tv = { 2, 0 };
	redisContext *c = sock ? redisConnectUnixWithTimeout(sock, tv) : NULL;

	if (c != NULL && c->err) {
		redisFree(c);
		c = NULL;
	}
	return c;
}

static bool redis_up(void)
{
	redisContext *c = redis_open();
	redisReply *r = c ? redisCommand(c, "PING") : NULL;
	bool up = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;

	freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return up;
}

static void redis_flushall(void)
{
	redisContext *c = redis_open();
	redisReply *r = c ? redisCommand(c, "FLUSHALL") : NULL;

	CU_ASSERT_FATAL(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	redisFree(c);
}

/* Polls /healthz until it says "status":"ok" (PostgreSQL and Redis both seen by the responder that
 * answers) or timeout_ms passes. Reconnection is backed off, at most one attempt a second. */
static bool healthz_ok_within(int timeout_ms)
{
	long long deadline = itest_now_ms() + timeout_ms;
	struct itest_resp r;
	bool ok = false;

	while (!ok && itest_now_ms() < deadline) {
		if (itest_json("GET", "/healthz", NULL, NULL, &r) == 0)
			ok = r.status == 200 && itest_jstr(&r, "status") &&
			     strcmp(itest_jstr(&r, "status"), "ok") == 0 && itest_jstr(&r, "redis") &&
			     strcmp(itest_jstr(&r, "redis"), "ok") == 0;
		itest_resp_free(&r);
		if (!ok)
			itest_sleep_ms(100);
	}
	return ok;
}

/* Starts Redis unless it answers already (a second redis-server would take over its socket), and
 * waits until mediad sees it again. Every test ends with it: later programs need the full stack. */
static void redis_restore(void)
{
	if (!redis_up())
		CU_ASSERT_EQUAL(itest_run_tool("redis-start"), 0);
	/* Several requests: each responder must have reconnected. */
	for (int i = 0; i < 4; i++)
		CU_ASSERT_TRUE(healthz_ok_within(15000));
}

static void redis_stop(void)
{
	CU_ASSERT_FATAL(itest_run_tool("redis-stop") == 0);
	CU_ASSERT_FATAL(!redis_up());
}

/* ---- the API ------------------------------------------------------------------------------------ */

static long get_status(const char *path, const char *tok)
{
	struct itest_resp r;
	long st;

	if (itest_json("GET", path, tok, NULL, &r) != 0)
		return -1;
	st = r.status;
	itest_resp_free(&r);
	return st;
}

static long me(const char *tok)
{
	return get_status("/auth/me", tok);
}

static long logout(const char *tok)
{
	struct itest_resp r;
	long st;

	if (itest_json("POST", "/auth/logout", tok, "{}", &r) != 0)
		return -1;
	st = r.status;
	itest_resp_free(&r);
	return st;
}

/* Asserts tok is refused on several requests in a row, so more than one responder answers. */
static void assert_refused(const char *tok)
{
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(me(tok), 401);
}

static void assert_accepted(const char *tok)
{
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(me(tok), 200);
}

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

static long post_view(long long id, const char *tok)
{
	char path[64];
	/* An empty body: lighttpd wants a Content-Length on a POST. */
	const struct itest_req q = { .method = "POST", .path = path, .token = tok, .body = "" };
	struct itest_resp r;
	long st;

	snprintf(path, sizeof(path), "/media/%lld/view", id);
	if (itest_send(&q, &r) != 0)
		return -1;
	st = r.status;
	itest_resp_free(&r);
	return st;
}

/* total_views of id as tok, or -1; *cache gets the X-Cache header ("" when absent). */
static long long total_views(long long id, const char *tok, char *cache, size_t n)
{
	char path[64];
	struct itest_resp r;
	long long v = -1;

	snprintf(path, sizeof(path), "/media/%lld/analytics", id);
	cache[0] = '\0';
	if (itest_json("GET", path, tok, NULL, &r) == 0 && r.status == 200) {
		v = itest_member_int(r.json, "total_views");
		itest_header(&r, "X-Cache", cache, n);
	}
	itest_resp_free(&r);
	return v;
}

/* Views of id in PostgreSQL itself. */
static long long sql_views(long long id)
{
	char mid[24];
	const char *p[1] = { mid };
	PGresult *res;
	long long n = -1;

	snprintf(mid, sizeof(mid), "%lld", id);
	res = PQexecParams(db, "SELECT count(*) FROM views WHERE media_id = $1", 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

static int procs(void)
{
	const char *p = getenv("MEDIAD_PROCS");
	long n = p ? strtol(p, NULL, 10) : 2;

	return n >= 1 && n <= 64 ? (int)n : 2;
}

/* The log the responders write to: mediad.log, or Apache's error log under mod_fcgid. */
static void log_path(char *out, size_t n)
{
	const char *t = getenv("MEDIAD_TEST_DIR");
	const char *ws = getenv("MEDIAD_WEB_SERVER");

	snprintf(out, n, "%s/log/%s", t ? t : ".",
	         ws != NULL && strcmp(ws, "apache-fcgid") == 0 ? "apache-error.log" : "mediad.log");
}

/* Lines mediad wrote past offset from, access lines aside. */
static int log_lines_since(long from)
{
	char path[512], line[2048];
	FILE *f;
	int n = 0;

	log_path(path, sizeof(path));
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fseek(f, from, SEEK_SET) == 0)
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, "mediad[") != NULL && strstr(line, " access rid=") == NULL)
				n++;
	fclose(f);
	return n;
}

static long log_size(void)
{
	char path[512];
	FILE *f;
	long n = 0;

	log_path(path, sizeof(path));
	f = fopen(path, "r");
	if (f != NULL && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (f != NULL)
		fclose(f);
	return n;
}

/* ---- the local copy of "not revoked" (CLIENT TRACKING) ------------------------------------------ */

/* One Redis command with no reply wanted but success; the reply's integer when it has one. */
static long long redis_do(const char *fmt, const char *arg)
{
	redisContext *c = redis_open();
	redisReply *r = c ? redisCommand(c, fmt, arg) : NULL;
	long long v = -1;

	CU_ASSERT_FATAL(r != NULL && r->type != REDIS_REPLY_ERROR);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return v;
}

/* calls= of a command in INFO commandstats ("mget"), or -1. */
static long long redis_calls(const char *cmd)
{
	redisContext *c = redis_open();
	redisReply *r = c ? redisCommand(c, "INFO commandstats") : NULL;
	char key[64];
	const char *p;
	long long n = -1;

	snprintf(key, sizeof(key), "cmdstat_%s:calls=", cmd);
	if (r != NULL && r->type == REDIS_REPLY_STRING && (p = strstr(r->str, key)) != NULL)
		n = strtoll(p + strlen(key), NULL, 10);
	else if (r != NULL && r->type == REDIS_REPLY_STRING)
		n = 0;
	freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return n;
}

/* The jti claim of a login token, into out (33 bytes). */
static void token_jti(const char *tok, char *out, size_t n)
{
	const char *a = strchr(tok, '.'), *b = a ? strchr(a + 1, '.') : NULL;
	unsigned char raw[1024];
	size_t len = 0;
	struct json_object *o, *j;

	out[0] = '\0';
	CU_ASSERT_FATAL(a != NULL && b != NULL);
	CU_ASSERT_FATAL(sodium_base642bin(raw, sizeof(raw) - 1, a + 1, (size_t)(b - a - 1), NULL, &len, NULL,
	                                  sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0);
	raw[len] = '\0';
	o = json_tokener_parse((const char *)raw);
	CU_ASSERT_FATAL(o != NULL && json_object_object_get_ex(o, "jti", &j));
	snprintf(out, n, "%s", json_object_get_string(j));
	json_object_put(o);
}

/* Every responder has seen tok accepted (several rounds through the pool), with Redis's copy of
 * the revocations whole: a responder fills it after a miss it could not trust (at most every 5 s),
 * and only then does a miss mean "not revoked". Bounded: 15 s. */
static void warm(const char *tok)
{
	for (int t = 0; t < 150 && redis_do("EXISTS %s", "mediad:revocations:ready") != 1; t++) {
		CU_ASSERT_EQUAL(me(tok), 200);
		usleep(100 * 1000);
	}
	CU_ASSERT_EQUAL(redis_do("EXISTS %s", "mediad:revocations:ready"), 1);
	for (int i = 0; i < 4 * procs(); i++)
		CU_ASSERT_EQUAL(me(tok), 200);
}

/* Once each responder has checked a token in Redis, it trusts its own copy of "not revoked" while
 * Redis tracks the keys for it: later requests with that token send no MGET. */
static void test_a_checked_token_is_not_asked_of_redis_again(void)
{
	char tok[4096];
	long long before, after;

	redis_restore();
	itest_login(tok, sizeof(tok), NULL, 0, "track");
	/* Up to three windows of 4 x procs requests: the marker is rewritten whenever a responder
	 * refills the copy (every responder then asks once more), which may fall in one window. */
	for (int round = 0; round < 3; round++) {
		warm(tok);
		before = redis_calls("mget");
		for (int i = 0; i < 4 * procs(); i++)
			CU_ASSERT_EQUAL(me(tok), 200);
		after = redis_calls("mget");
		CU_ASSERT_TRUE(before >= 0 && after >= 0);
		if (after - before <= procs())
			break;
		fprintf(stderr, "\n  %lld MGETs for %d requests", after - before, 4 * procs());
	}
	CU_ASSERT_TRUE(after - before <= procs());
}

/* Another host's logout is a key written in Redis by someone else: every responder that kept the
 * token as "not revoked" refuses it on the next request. */
static void test_a_revocation_written_elsewhere_holds_on_the_next_request(void)
{
	char tok[4096], jti[64], key[128];

	redis_restore();
	itest_login(tok, sizeof(tok), NULL, 0, "track-else");
	warm(tok);
	warm(tok);
	token_jti(tok, jti, sizeof(jti));
	snprintf(key, sizeof(key), "mediad:revoked:%s", jti);
	redis_do("SET %s 1 EX 600", key);
	assert_refused(tok);
}

/* The copy is only as good as the connection that tells of changes: when Redis drops a responder's
 * invalidation connection or its command connection, the changes made meanwhile still count. */
static void test_a_lost_tracking_connection_loses_no_revocation(void)
{
	char tok[4096], tok2[4096], jti[64], key[128];

	redis_restore();
	itest_login(tok, sizeof(tok), NULL, 0, "track-kill");
	itest_login(tok2, sizeof(tok2), NULL, 0, "track-kill2");
	warm(tok);
	warm(tok);
	warm(tok2);
	warm(tok2);
	/* The invalidation connections (pubsub) go, then a revocation is written. */
	redis_do("CLIENT KILL TYPE pubsub%s", "");
	token_jti(tok, jti, sizeof(jti));
	snprintf(key, sizeof(key), "mediad:revoked:%s", jti);
	redis_do("SET %s 1 EX 600", key);
	assert_refused(tok);
	/* The command connections go (not ours: SKIPME), then another revocation. */
	redis_do("CLIENT KILL TYPE normal SKIPME yes%s", "");
	token_jti(tok2, jti, sizeof(jti));
	snprintf(key, sizeof(key), "mediad:revoked:%s", jti);
	redis_do("SET %s 1 EX 600", key);
	assert_refused(tok2);
}

/* The cached analytics read runs its script by SHA1 (EVALSHA). A SCRIPT FLUSH makes Redis answer
 * NOSCRIPT: the responder loads the script again and serves the cached entry, without counting
 * Redis as down. */
static void test_script_flush_costs_the_analytics_cache_nothing(void)
{
	char tok[4096], cache[32];
	long long id;

	redis_restore();
	itest_login(tok, sizeof(tok), NULL, 0, "script");
	id = new_media(tok);
	CU_ASSERT_FATAL(id > 0);
	CU_ASSERT_EQUAL(post_view(id, tok), 201);
	/* Every responder reads it once (a miss fills the cache), then it is a hit anywhere. */
	for (int i = 0; i < 2 * procs(); i++)
		CU_ASSERT_EQUAL(total_views(id, tok, cache, sizeof(cache)), 1);
	CU_ASSERT_STRING_EQUAL(cache, "hit");
	redis_do("SCRIPT FLUSH%s", "");
	for (int i = 0; i < 2 * procs(); i++) {
		CU_ASSERT_EQUAL(total_views(id, tok, cache, sizeof(cache)), 1);
		CU_ASSERT_STRING_EQUAL(cache, "hit");
	}
	CU_ASSERT_TRUE(healthz_ok_within(1000));
}

/* ---- revocation is durable ---------------------------------------------------------------------- */

static void test_logged_out_token_stays_refused_after_flushall(void)
{
	char tok[4096], other[4096];

	redis_restore();
	itest_login(tok, sizeof(tok), NULL, 0, "flush");
	itest_login(other, sizeof(other), NULL, 0, "flush-other");
	CU_ASSERT_EQUAL(me(tok), 200);
	CU_ASSERT_EQUAL(logout(tok), 200);
	assert_refused(tok);
	redis_flushall();
	assert_refused(tok);
	/* The flush costs a valid token nothing. */
	assert_accepted(other);
	/* And again, once the cache may have been filled anew. */
	assert_refused(tok);
}

static void test_logged_out_token_stays_refused_after_a_redis_restart(void)
{
	char tok[4096], other[4096];

	redis_restore();
	itest_login(tok, sizeof(tok), NULL, 0, "restart");
	itest_login(other, sizeof(other), NULL, 0, "restart-other");
	CU_ASSERT_EQUAL(logout(tok), 200);
	assert_refused(tok);
	redis_stop();
	CU_ASSERT_EQUAL(itest_run_tool("redis-start"), 0);
	assert_refused(tok);
	assert_accepted(other);
	CU_ASSERT_EQUAL(logout(other), 200);
	assert_refused(other);
	assert_refused(tok);
	redis_restore();
}

/* ---- Redis down: every route keeps working -------------------------------------------------------- */

static void test_healthz_is_200_degraded_while_redis_is_down_and_ok_after(void)
{
	struct itest_resp r;

	redis_restore();
	redis_stop();
	CU_ASSERT_FATAL(itest_json("GET", "/healthz", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(itest_jstr(&r, "status") && strcmp(itest_jstr(&r, "status"), "degraded") == 0);
	CU_ASSERT_TRUE(itest_jstr(&r, "redis") && strcmp(itest_jstr(&r, "redis"), "down") == 0);
	CU_ASSERT_TRUE(itest_jstr(&r, "postgres") && strcmp(itest_jstr(&r, "postgres"), "ok") == 0);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(itest_run_tool("redis-start"), 0);
	CU_ASSERT_TRUE(healthz_ok_within(15000));
	redis_restore();
}

static void test_redis_down_refuses_revoked_tokens_and_serves_every_route(void)
{
	char tok[4096], gone[4096], fresh[4096], email[256], body[512], path[64], cache[32];
	struct itest_resp r;
	long long id, pid, t0, slowest = 0;
	long before_log;
	int i;

	redis_restore();
	itest_login(tok, sizeof(tok), email, sizeof(email), "down");
	itest_login(gone, sizeof(gone), NULL, 0, "down-gone");
	id = new_media(tok);
	CU_ASSERT_FATAL(id > 0);
	pid = itest_new_project(tok, "redis down", NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(logout(gone), 200);
	CU_ASSERT_EQUAL(total_views(id, tok, cache, sizeof(cache)), 0); /* cached in Redis now */

	before_log = log_size();
	redis_stop();
	t0 = itest_now_ms();
	/* A revoked token is refused, a valid one works. */
	assert_refused(gone);
	assert_accepted(tok);
	/* Login works. */
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"Password123\"}", email);
	CU_ASSERT_FATAL(itest_json("POST", "/auth/login", NULL, body, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_FATAL(itest_jstr(&r, "token") != NULL);
	snprintf(fresh, sizeof(fresh), "%s", itest_jstr(&r, "token"));
	itest_resp_free(&r);
	assert_accepted(fresh);
	/* Logout works, and holds. */
	CU_ASSERT_EQUAL(logout(fresh), 200);
	assert_refused(fresh);
	/* A view is recorded, and analytics answer from PostgreSQL. */
	CU_ASSERT_EQUAL(post_view(id, tok), 201);
	CU_ASSERT_EQUAL(sql_views(id), 1);
	CU_ASSERT_EQUAL(total_views(id, tok, cache, sizeof(cache)), 1);
	CU_ASSERT_STRING_EQUAL(cache, "miss");
	CU_ASSERT_EQUAL(total_views(id, tok, cache, sizeof(cache)), 1);
	CU_ASSERT_STRING_EQUAL(cache, "miss");
	/* The other routes. */
	CU_ASSERT_EQUAL(get_status("/projects", tok), 200);
	snprintf(path, sizeof(path), "/projects/%lld", pid);
	CU_ASSERT_EQUAL(get_status(path, tok), 200);
	snprintf(path, sizeof(path), "/media/%lld", id);
	CU_ASSERT_EQUAL(get_status(path, tok), 200);
	snprintf(path, sizeof(path), "/media/%lld/stream-url", id);
	CU_ASSERT_EQUAL(get_status(path, tok), 200);
	snprintf(body, sizeof(body), "{\"projectId\":%lld,\"eventType\":\"play\"}", pid);
	CU_ASSERT_FATAL(itest_json("POST", "/analytics", tok, body, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	itest_resp_free(&r);
	itest_unique_email(email, sizeof(email), "down-new");
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"Password123\"}", email);
	CU_ASSERT_FATAL(itest_json("POST", "/auth/register", NULL, body, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	itest_resp_free(&r);
	/* Nothing waited on the dead Redis: 30-odd requests in well under a few seconds each. */
	slowest = itest_now_ms() - t0;
	CU_ASSERT_TRUE(slowest < 30000);
	/* The outage is logged as a state change, not once per request. */
	for (i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(me(tok), 200);
	{
		int lines = log_lines_since(before_log);

		if (lines > 3 * procs())
			fprintf(stderr, "\n  %d log lines during the outage\n", lines);
		CU_ASSERT_TRUE(lines >= 0 && lines <= 3 * procs());
	}

	/* Back: the revocations made while Redis was down still hold, and the view is counted. */
	CU_ASSERT_EQUAL(itest_run_tool("redis-start"), 0);
	CU_ASSERT_TRUE(healthz_ok_within(15000));
	assert_refused(gone);
	assert_refused(fresh);
	assert_accepted(tok);
	CU_ASSERT_EQUAL(total_views(id, tok, cache, sizeof(cache)), 1);
	itest_delete_media(tok, id);
	itest_delete_project(tok, pid);
	redis_restore();
}

static void test_redis_down_rate_limits_fall_back_to_each_responder(void)
{
	const int bound = LOGIN_LIMIT * procs() + 1;
	char xff[64], body[256], retry[32];
	const char *h[] = { "Content-Type: application/json", xff, NULL };
	struct itest_resp r;
	bool limited = false;
	int i;

	redis_restore();
	snprintf(xff, sizeof(xff), "X-Forwarded-For: 198.51.100.%u", 100 + (unsigned)(getpid() % 100));
	snprintf(body, sizeof(body), "{\"email\":\"rl-%ld-%u@example.com\",\"password\":\"WrongPassword\"}",
	         (long)time(NULL), ++uniq);
	redis_stop();
	/* Per responder, each counts its own window: the first LOGIN_LIMIT pass whichever answers, and
	 * by LOGIN_LIMIT x responders + 1 one of them must refuse. */
	for (i = 0; i < bound && !limited; i++) {
		CU_ASSERT_FATAL(itest_request("POST", "/auth/login", h, body, strlen(body), &r) == 0);
		if (i < LOGIN_LIMIT)
			CU_ASSERT_EQUAL(r.status, 401);
		CU_ASSERT_TRUE(r.status == 401 || r.status == 429);
		if (r.status == 429) {
			limited = true;
			CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "error"), "rate_limited");
			CU_ASSERT_TRUE(itest_header(&r, "Retry-After", retry, sizeof(retry)) &&
			               strtol(retry, NULL, 10) >= 1 && strtol(retry, NULL, 10) <= 60);
		}
		itest_resp_free(&r);
	}
	if (!limited)
		fprintf(stderr, "\n  no 429 within %d login attempts with Redis down\n", bound);
	CU_ASSERT_TRUE(limited);
	redis_restore();
}

/* ---- Redis 7 is required -------------------------------------------------------------------------- */

/* A fake Redis on a unix socket that claims to be 6.2: it answers INFO with that version, PING with
 * PONG and anything else with OK, for up to 30 s. Returns its pid; *path gets its socket. */
static pid_t fake_old_redis(char *path, size_t n)
{
	struct sockaddr_un sa;
	int fd;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/fake-redis.sock",
	                     getenv("MEDIAD_TEST_DIR")) >= sizeof(sa.sun_path))
		return -1;
	snprintf(path, n, "%s", sa.sun_path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	chmod(path, 0777);
	pid = fork();
	if (pid != 0) {
		close(fd);
		return pid;
	}
	alarm(30);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		char buf[4096];
		ssize_t got;

		if (c < 0)
			continue;
		while ((got = read(c, buf, sizeof(buf) - 1)) > 0) {
			static const char info[] =
			        "# Server\r\nredis_version:6.2.6\r\nredis_mode:standalone\r\n"
			        "run_id:0123456789abcdef0123456789abcdef01234567\r\n";
			char out[512];
			int len;

			buf[got] = '\0';
			if (strstr(buf, "INFO") != NULL || strstr(buf, "info") != NULL)
				len = snprintf(out, sizeof(out), "$%zu\r\n%s\r\n", sizeof(info) - 1, info);
			else if (strstr(buf, "PING") != NULL)
				len = snprintf(out, sizeof(out), "+PONG\r\n");
			else
				len = snprintf(out, sizeof(out), "+OK\r\n");
			if (write(c, out, (size_t)len) != len)
				break;
		}
		close(c);
	}
}

static void test_mediad_refuses_to_start_with_redis_older_than_7(void)
{
	const char *mediad = getenv("HARNESS_MEDIAD");
	char sock[512], url[600], out[4096];
	int pfd[2], status = 0;
	size_t got = 0;
	pid_t fake, pid;
	long long deadline;

	CU_ASSERT_FATAL(mediad != NULL);
	fake = fake_old_redis(sock, sizeof(sock));
	CU_ASSERT_FATAL(fake > 0);
	CU_ASSERT_FATAL(pipe(pfd) == 0);
	snprintf(url, sizeof(url), "unix:%s", sock);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		setenv("REDIS_URL", url, 1);
		execl(mediad, mediad, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	CU_ASSERT_FATAL(pid > 0);
	deadline = itest_now_ms() + 20000;
	for (;;) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		ssize_t n;

		if (itest_now_ms() > deadline || poll(&p, 1, 200) < 0)
			break;
		if (p.revents == 0)
			continue;
		n = read(pfd[0], out + got, sizeof(out) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	kill(fake, SIGKILL);
	waitpid(fake, NULL, 0);
	unlink(sock);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 78))
		fprintf(stderr, "\n  mediad with Redis 6.2: status %d, said: %s\n", status, out);
	/* EX_CONFIG, with one line that names the version and the requirement. */
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 78);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "6.2.6"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Redis 7"));
}

/* ---- suite ---------------------------------------------------------------------------------------- */

static int suite_init(void)
{
	const char *url = getenv("DATABASE_URL");

	if (url == NULL || getenv("REDIS_SOCKET") == NULL || getenv("MEDIAD_TEST_DIR") == NULL) {
		fprintf(stderr, "test_redis_loss: run through the harness (DATABASE_URL, REDIS_SOCKET)\n");
		return -1;
	}
	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "test_redis_loss: %s", PQerrorMessage(db));
		return -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/mediad-redis-loss-XXXXXX");
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

/* Whatever happened above, later programs of the run get their Redis back. */
static int suite_clean(void)
{
	if (!redis_up())
		(void)itest_run_tool("redis-start");
	(void)healthz_ok_within(15000);
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

	signal(SIGPIPE, SIG_IGN);
	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("redis loss", suite_init, suite_clean);
	CU_add_test(s, "a checked token is not asked of Redis again",
	            test_a_checked_token_is_not_asked_of_redis_again);
	CU_add_test(s, "a revocation written elsewhere holds on the next request",
	            test_a_revocation_written_elsewhere_holds_on_the_next_request);
	CU_add_test(s, "a lost tracking connection loses no revocation",
	            test_a_lost_tracking_connection_loses_no_revocation);
	CU_add_test(s, "SCRIPT FLUSH costs the analytics cache nothing",
	            test_script_flush_costs_the_analytics_cache_nothing);
	CU_add_test(s, "logged-out token stays refused after FLUSHALL",
	            test_logged_out_token_stays_refused_after_flushall);
	CU_add_test(s, "logged-out token stays refused after a Redis restart",
	            test_logged_out_token_stays_refused_after_a_redis_restart);
	CU_add_test(s, "healthz is 200 degraded while Redis is down, ok after",
	            test_healthz_is_200_degraded_while_redis_is_down_and_ok_after);
	CU_add_test(s, "Redis down: revoked tokens refused, every route served",
	            test_redis_down_refuses_revoked_tokens_and_serves_every_route);
	CU_add_test(s, "Redis down: rate limits fall back to each responder",
	            test_redis_down_rate_limits_fall_back_to_each_responder);
	CU_add_test(s, "mediad refuses to start with Redis older than 7",
	            test_mediad_refuses_to_start_with_redis_older_than_7);
	return itest_run_all();
}
