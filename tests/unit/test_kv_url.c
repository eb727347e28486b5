/* test_kv_url.c: unit tests of the strict redis_url parser (store/kv.c, kv_url_parse), and of the
 * handle an empty redis_url makes (no Redis). */
#include "config.h"

#include "store/kv.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "unit.h"
#include "util/buf.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct good_case {
	const char *url;
	const char *host; /* NULL: a unix socket */
	const char *path; /* NULL: TCP */
	const char *password;
	int port;
	int dbnum;
};

static void test_accepts_the_documented_forms(void)
{
	static const struct good_case cases[] = {
		{ "redis://localhost", "localhost", NULL, NULL, 6379, 0 },
		{ "redis://127.0.0.1:6380", "127.0.0.1", NULL, NULL, 6380, 0 },
		{ "redis://redis.internal:6379/3", "redis.internal", NULL, NULL, 6379, 3 },
		{ "redis://h/", "h", NULL, NULL, 6379, 0 },
		{ "redis://h:1/1000", "h", NULL, NULL, 1, 1000 },
		{ "redis://h:65535/0", "h", NULL, NULL, 65535, 0 },
		{ "redis://:hunter2@127.0.0.1:6379/0", "127.0.0.1", NULL, "hunter2", 6379, 0 },
		{ "redis://:p%40ss@h:1", "h", NULL, "p@ss", 1, 0 },
		{ "redis://:a%2Fb%25c:d@h", "h", NULL, "a/b%c:d", 6379, 0 },
		{ "redis://[::1]:6379", "::1", NULL, NULL, 6379, 0 },
		{ "redis://[::1]", "::1", NULL, NULL, 6379, 0 },
		{ "redis://:pw@[2001:db8::7]:7000/2", "2001:db8::7", NULL, "pw", 7000, 2 },
		{ "redis://[::ffff:192.0.2.1]/1", "::ffff:192.0.2.1", NULL, NULL, 6379, 1 },
		{ "redis://my_redis-1.example", "my_redis-1.example", NULL, NULL, 6379, 0 },
		{ "unix:/run/redis/redis.sock", NULL, "/run/redis/redis.sock", NULL, 0, 0 },
		{ "unix:///run/redis/redis.sock", NULL, "/run/redis/redis.sock", NULL, 0, 0 },
		{ "unix:/tmp/r.sock?db=5", NULL, "/tmp/r.sock", NULL, 0, 5 },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct good_case *c = &cases[i];
		struct kv_url u;
		char err[256] = "";
		int rc = kv_url_parse(c->url, &u, err, sizeof(err));

		if (rc != 0)
			fprintf(stderr, "\n  %s: %s\n", c->url, err);
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		if (c->host != NULL) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(u.host);
			CU_ASSERT_STRING_EQUAL(u.host, c->host);
			CU_ASSERT_PTR_NULL(u.path);
		} else {
			CU_ASSERT_PTR_NULL(u.host);
		}
		if (c->path != NULL) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(u.path);
			CU_ASSERT_STRING_EQUAL(u.path, c->path);
		}
		if (c->password != NULL) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(u.password);
			CU_ASSERT_STRING_EQUAL(u.password, c->password);
		} else {
			CU_ASSERT_PTR_NULL(u.password);
		}
		CU_ASSERT_EQUAL(u.port, c->port);
		CU_ASSERT_EQUAL(u.dbnum, c->dbnum);
		kv_url_free(&u);
	}
}

struct bad_case {
	const char *url;
	const char *msg; /* a substring of the one-line message */
};

static void test_refuses_malformed_urls_with_a_clear_line(void)
{
	static const struct bad_case cases[] = {
		/* the cases of issue 18: each used to be taken some other way */
		{ "redis://h/0@x", "bad database number \"0@x\"" },
		{ "redis://:p@ss@h:1",
		  "more than one '@' before the host (write '@' in the password as %40)" },
		{ "redis://h/+5", "bad database number \"+5\" (0 to 1000, digits only)" },
		{ "redis://h/ 7", "bad database number \" 7\"" },
		{ "unix:/tmp/r.sock?db=+5", "bad database number \"+5\"" },
		{ "unix:/tmp/r.sock?db= 7", "bad database number \" 7\"" },
		/* numbers */
		{ "redis://h/1001", "bad database number \"1001\"" },
		{ "redis://h/-1", "bad database number" },
		{ "redis://h/0x1", "bad database number" },
		{ "redis://h:", "bad port \"\"" },
		{ "redis://h:0", "bad port \"0\"" },
		{ "redis://h:65536", "bad port \"65536\"" },
		{ "redis://h:+1", "bad port \"+1\"" },
		{ "redis://h: 1", "bad port" },
		{ "redis://h:99999999999999999999", "bad port" },
		/* hosts */
		{ "redis://", "missing host" },
		{ "redis://:1", "missing host" },
		{ "redis://:pw@", "missing host" },
		{ "redis://::1:6379", "an IPv6 address must be in brackets" },
		{ "redis://[::1", "'[' without ']'" },
		{ "redis://[::1]x", "unexpected characters after ']'" },
		{ "redis://[not-v6]:1", "\"not-v6\" is not an IPv6 address" },
		{ "redis://[127.0.0.1]", "is not an IPv6 address" },
		{ "redis://ho st", "bad host \"ho st\"" },
		{ "redis://h%41", "bad host" },
		/* the part before '@' */
		{ "redis://user:pw@h", "a user name is not supported" },
		{ "redis://pw@h", "the password must follow ':'" },
		{ "redis://:@h", "empty password" },
		{ "redis://:p%4@h", "bad %-escape in the password" },
		{ "redis://:p%00@h", "bad %-escape in the password" },
		{ "redis://:pa/ss@h", "write '/', '?' and '#' in the password as %2F, %3F and %23" },
		{ "redis://:pa?ss@h:1", "write '/', '?' and '#' in the password" },
		/* what comes after the host */
		{ "redis://h?db=1", "takes no '?' or '#' parameters" },
		{ "redis://h/1?x=1", "takes no '?' or '#' parameters" },
		{ "redis://h#x", "takes no '?' or '#' parameters" },
		/* schemes and unix sockets */
		{ "", "must start with redis:// or unix:" },
		{ "rediss://h", "must start with redis:// or unix:" },
		{ "REDIS://h", "must start with redis:// or unix:" },
		{ "unix:run/redis.sock", "must be absolute" },
		{ "unix:", "must be absolute" },
		{ "unix:/run/redis/", "names a folder" },
		{ "unix:/tmp/r.sock?database=1",
		  "unexpected \"?database=1\" after the socket path (only ?db=N)" },
		{ "unix:/tmp/r.sock#x", "unexpected \"#x\"" },
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct bad_case *c = &cases[i];
		struct kv_url u;
		char err[256] = "";
		int rc = kv_url_parse(c->url, &u, err, sizeof(err));

		if (rc != -1 || strstr(err, c->msg) == NULL)
			fprintf(stderr, "\n  %s: rc %d, \"%s\"\n", c->url, rc, err);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, c->msg));
		/* one line, named after the setting, out emptied */
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		CU_ASSERT_EQUAL(strncmp(err, "redis_url", 9), 0);
		CU_ASSERT_PTR_NULL(u.host);
		CU_ASSERT_PTR_NULL(u.path);
		CU_ASSERT_PTR_NULL(u.password);
	}
}

static void test_message_never_quotes_the_password(void)
{
	static const char *const urls[] = {
		"redis://:s3cret@h:99999", "redis://:s3cret@h/+5",     "redis://:s3cret@ho st",
		"redis://:s3cret@h?x",     "redis://:s3cret@[s3cret]",
	};
	size_t i;

	for (i = 0; i < N_ELEMS(urls); i++) {
		struct kv_url u;
		char err[256] = "";

		CU_ASSERT_EQUAL(kv_url_parse(urls[i], &u, err, sizeof(err)), -1);
		/* "[s3cret]" is the host there, not the password: quoting it is fine. */
		if (i + 1 < N_ELEMS(urls))
			CU_ASSERT_PTR_NULL(strstr(err, "s3cret"));
	}
}

static void test_caps_hold(void)
{
	char url[KV_URL_MAX + 64], err[256];
	struct kv_url u;

	/* a path of exactly KV_SOCKET_PATH_MAX bytes fits sun_path; one more does not */
	snprintf(url, sizeof(url), "unix:/%0*d", KV_SOCKET_PATH_MAX - 1, 0);
	CU_ASSERT_EQUAL(kv_url_parse(url, &u, err, sizeof(err)), 0);
	kv_url_free(&u);
	snprintf(url, sizeof(url), "unix:/%0*d", KV_SOCKET_PATH_MAX, 0);
	CU_ASSERT_EQUAL(kv_url_parse(url, &u, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than 107 bytes"));
	/* a host name of KV_HOST_MAX characters, then one more */
	snprintf(url, sizeof(url), "redis://%0*d", KV_HOST_MAX, 0);
	CU_ASSERT_EQUAL(kv_url_parse(url, &u, err, sizeof(err)), 0);
	kv_url_free(&u);
	snprintf(url, sizeof(url), "redis://%0*d", KV_HOST_MAX + 1, 0);
	CU_ASSERT_EQUAL(kv_url_parse(url, &u, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad host"));
	/* the whole URL */
	snprintf(url, sizeof(url), "redis://:%0*d@h", KV_URL_MAX, 0);
	CU_ASSERT_EQUAL(kv_url_parse(url, &u, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "longer than 2048 bytes"));
	/* a short err buffer is cut, never overrun */
	CU_ASSERT_EQUAL(kv_url_parse("redis://h/+5", &u, err, 8), -1);
	CU_ASSERT_EQUAL(strlen(err), 7);
}

static void test_kv_new_reports_the_parser_line(void)
{
	char err[256] = "";
	struct kv *kv;

	CU_ASSERT_PTR_NULL(kv_new("redis://h/0@x", 500, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "redis_url: bad database number"));
	/* a good URL makes a handle without connecting */
	kv = kv_new("redis://[::1]:6379/2", 500, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(kv);
	kv_free(kv);
}

/* The file descriptors this process has open: a connection attempt would add one. */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every call on h fails at once with MERR_UNAVAILABLE, opens nothing and logs nothing. */
static void assert_off(struct kv *h)
{
	const char *keys[2] = { "a", "b" };
	const long long ttls[2] = { 5, 5 };
	struct buf out = BUF_INIT, vals[2] = { BUF_INIT, BUF_INIT };
	bool found = true, two[2] = { true, true }, set = true;
	long long count = -1, ttl = -1;
	char msg[128] = "", gen[KV_GEN_MAX];
	FILE *log = tmpfile(), *was;
	int fds = open_fds();
	double t0 = mono_s();

	CU_ASSERT_FATAL(h != NULL && log != NULL);
	was = log_set_stream(log);
	CU_ASSERT_FALSE(kv_configured(h));
	CU_ASSERT_EQUAL(kv_check(h, msg, sizeof(msg)), KV_PROBE_OFF);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "not configured"));
	CU_ASSERT_EQUAL(kv_ping(h), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_incr_window(h, "k", 60, &count, &ttl), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_set_ex(h, "k", "v", 1, 60), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_exists(h, "k", &found), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_get(h, "k", &out, &found), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_del(h, "k"), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_hget(h, "k", "f", &out, &found), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_hget_gen(h, "g", "p", "f", gen, &out, &found), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_gen_bump(h, "g", 60), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_hset_ttl(h, "k", "f", "v", 1, 60), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_mget(h, 2, keys, vals, two), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_set_nx_ex(h, "k", "v", 60, &set), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_set_ex_batch(h, 2, keys, ttls, "1"), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_set_ex_if(h, "g", "v", "k", "v", 60, &set), MERR_UNAVAILABLE);
	CU_ASSERT_EQUAL(kv_info(h, "memory", "maxmemory", msg, sizeof(msg), &found), MERR_UNAVAILABLE);
	CU_ASSERT_FALSE(kv_track_sync(h));
	CU_ASSERT_PTR_NULL(kv_server_id(h));
	/* Nothing was opened (no socket), nothing waited on, nothing said. */
	CU_ASSERT_EQUAL(open_fds(), fds);
	CU_ASSERT_TRUE(mono_s() - t0 < 0.5);
	(void)log_set_stream(was);
	CU_ASSERT_EQUAL(ftell(log), 0);
	fclose(log);
	buf_free(&out);
	buf_free(&vals[0]);
	buf_free(&vals[1]);
}

static void test_an_empty_redis_url_is_no_redis_and_never_connects(void)
{
	char err[256] = "";
	struct kv *h;

	/* A timeout of 10 s: a call that tried to connect would show in the time taken. */
	h = kv_new("", 10000, err, sizeof(err));
	assert_off(h);
	kv_free(h);
	h = kv_new(NULL, 10000, err, sizeof(err));
	assert_off(h);
	kv_free(h);
	CU_ASSERT_STRING_EQUAL(err, "");
}

static void test_a_redis_url_is_configured_before_it_connects(void)
{
	char err[256] = "";
	struct kv *h = kv_new("redis://127.0.0.1:1", 500, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_TRUE(kv_configured(h));
	kv_free(h);
}

static const struct unit_test tests[] = {
	{ "accepts the documented forms", test_accepts_the_documented_forms },
	{ "refuses malformed urls with a clear line", test_refuses_malformed_urls_with_a_clear_line },
	{ "message never quotes the password", test_message_never_quotes_the_password },
	{ "caps hold", test_caps_hold },
	{ "kv_new reports the parser line", test_kv_new_reports_the_parser_line },
	{ "an empty redis_url is no Redis and never connects",
	  test_an_empty_redis_url_is_no_redis_and_never_connects },
	{ "a redis_url is configured before it connects", test_a_redis_url_is_configured_before_it_connects },
};

UNIT_SUITES(UNIT_SUITE("kv_url", NULL, NULL, tests));
