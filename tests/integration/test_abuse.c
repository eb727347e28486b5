/* test_abuse.c: the abuse limits of issue 11 (section 5) against the real stack: the register limit,
 * the per-account login lockout, IPv6 clients keyed by /64, ambiguous X-Forwarded-For, the storage
 * quota and the usage GET /auth/me reports. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

/* Past this many registrations per client the fill of the register test would take too long. */
#define REGISTER_FILL_MAX 5000
#define LOGIN_FAIL_WINDOW_S 900
#define PASSWORD "Password123"

static PGconn *db;
static char dir[256];     /* fixtures */
static char uploads[512]; /* $MEDIA_ROOT/uploads */
static char small_wav[300], big_wav[300];
static long long register_limit, fail_limit, quota;
static unsigned seq;

/* ---- set-up ------------------------------------------------------------------------------------ */

/* The value of key in the harness's mediad.conf (a later line wins, as in mediad), or dflt. */
static long long conf_int(const char *key, long long dflt)
{
	const char *path = getenv("MEDIAD_CONFIG");
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[1024], name[128];
	long long v = dflt, x;

	if (f == NULL)
		return dflt;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " %127[a-z_] = %lld", name, &x) == 2 && strcmp(name, key) == 0)
			v = x;
	fclose(f);
	return v;
}

static void put_le(unsigned char *p, unsigned v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
}

/* A WAV file of data_bytes of silence (8 kHz mono 16-bit PCM): ffprobe takes it for audio. */
static int write_wav(const char *path, size_t data_bytes)
{
	unsigned char h[44];
	static const char zeros[4096];
	FILE *f = fopen(path, "wb");
	size_t left = data_bytes;
	int rc = 0;

	if (f == NULL)
		return -1;
	memcpy(h, "RIFF", 4);
	put_le(h + 4, (unsigned)(36 + data_bytes), 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le(h + 16, 16, 4);    /* fmt chunk size */
	put_le(h + 20, 1, 2);     /* PCM */
	put_le(h + 22, 1, 2);     /* channels */
	put_le(h + 24, 8000, 4);  /* sample rate */
	put_le(h + 28, 16000, 4); /* bytes per second */
	put_le(h + 32, 2, 2);     /* block align */
	put_le(h + 34, 16, 2);    /* bits per sample */
	memcpy(h + 36, "data", 4);
	put_le(h + 40, (unsigned)data_bytes, 4);
	if (fwrite(h, 1, sizeof(h), f) != sizeof(h))
		rc = -1;
	while (rc == 0 && left > 0) {
		size_t k = left < sizeof(zeros) ? left : sizeof(zeros);

		if (fwrite(zeros, 1, k, f) != k)
			rc = -1;
		left -= k;
	}
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int suite_init(void)
{
	const char *url = getenv("DATABASE_URL"), *root = getenv("MEDIA_ROOT");

	if (url == NULL || root == NULL) {
		fprintf(stderr, "test_abuse: DATABASE_URL and MEDIA_ROOT come from the harness\n");
		return -1;
	}
	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "test_abuse: %s", PQerrorMessage(db));
		return -1;
	}
	snprintf(uploads, sizeof(uploads), "%s/uploads", root);
	register_limit = conf_int("register_rate_ip", 10);
	fail_limit = conf_int("login_fail_account", 10);
	quota = conf_int("storage_quota_bytes", 0);
	snprintf(dir, sizeof(dir), "/tmp/mediad-abuse-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(small_wav, sizeof(small_wav), "%s/small.wav", dir);
	snprintf(big_wav, sizeof(big_wav), "%s/big.wav", dir);
	/* 4044 bytes; 1 MB, so that two concurrent uploads overlap in mediad. */
	return write_wav(small_wav, 4000) == 0 && write_wav(big_wav, 1000000) == 0 ? 0 : -1;
}

static int suite_clean(void)
{
	unlink(small_wav);
	unlink(big_wav);
	if (dir[0] != '\0')
		rmdir(dir);
	if (db != NULL)
		PQfinish(db);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------------------ */

/* s, or a marker for a missing string, so an assertion on it fails instead of crashing. */
static const char *str_or_none(const char *s)
{
	return s != NULL ? s : "(none)";
}

/* A client address of its own for each call ("X-Forwarded-For: 198.18.x.y"; the harness trusts the
 * loopback proxy), so that the per-IP limits of one request never touch another's. */
static void fresh_xff(char *out, size_t n)
{
	unsigned k = ((unsigned)getpid() * 251u + ++seq) & 0xffffu;

	snprintf(out, n, "X-Forwarded-For: 198.18.%u.%u", k >> 8, k & 0xff);
}

/* POSTs {"email","password"} to path from xff (a header line; NULL: a fresh address). */
static long post_creds(const char *path, const char *xff, const char *email, const char *pw,
                       struct itest_resp *r)
{
	char body[512], own[64];
	const char *h[] = { "Content-Type: application/json", xff, NULL };

	if (xff == NULL) {
		fresh_xff(own, sizeof(own));
		h[1] = own;
	}
	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
	if (itest_request("POST", path, h, body, strlen(body), r) != 0)
		return -1;
	return r->status;
}

static long login_status(const char *email, const char *pw)
{
	struct itest_resp r;
	long st = post_creds("/auth/login", NULL, email, pw, &r);

	itest_resp_free(&r);
	return st;
}

/* Registers a fresh user from a fresh address and logs in: its token into tok, its id returned. */
static long long new_user(char *tok, size_t n, char *email, size_t elen, const char *tag)
{
	struct itest_resp r;
	long long id = -1;

	itest_unique_email(email, elen, tag);
	CU_ASSERT_FATAL(post_creds("/auth/register", NULL, email, PASSWORD, &r) == 201);
	id = itest_member_int(itest_member(r.json, "user"), "id");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(post_creds("/auth/login", NULL, email, PASSWORD, &r) == 200);
	CU_ASSERT_FATAL(itest_jstr(&r, "token") != NULL);
	snprintf(tok, n, "%s", itest_jstr(&r, "token"));
	itest_resp_free(&r);
	return id;
}

/* Asserts a 429 rate_limited with a Retry-After from 1 to max_s. */
static void assert_limited(const struct itest_resp *r, long max_s)
{
	char retry[32];
	long s;

	CU_ASSERT_EQUAL(r->status, 429);
	CU_ASSERT_STRING_EQUAL(str_or_none(itest_jstr(r, "error")), "rate_limited");
	CU_ASSERT_TRUE(itest_header(r, "Retry-After", retry, sizeof(retry)));
	s = strtol(retry, NULL, 10);
	if (s < 1 || s > max_s)
		fprintf(stderr, "\n  Retry-After %ld, want 1..%ld\n", s, max_s);
	CU_ASSERT_TRUE(s >= 1 && s <= max_s);
}

/* One number from the database (-1 on an error, which is printed). */
static long long db_count(const char *sql, const char *param)
{
	const char *p[1] = { param };
	PGresult *r = PQexecParams(db, sql, param ? 1 : 0, NULL, param ? p : NULL, NULL, NULL, 0);
	long long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "\n  %s: %s", sql, PQerrorMessage(db));
	PQclear(r);
	return v;
}

static long long user_rows(long long uid)
{
	char id[24];

	snprintf(id, sizeof(id), "%lld", uid);
	return db_count("SELECT count(*) FROM media WHERE user_id = $1", id);
}

/*
 * Stands for media the user already stores: one row of size bytes with no file (the quota counts
 * rows, and filling a gigabyte for real would only slow the suite). Returns its id, or -1.
 */
static long long filler_row(long long uid, long long size)
{
	char id[24], sz[24], path[96];
	const char *p[3] = { id, sz, path };
	PGresult *r;
	long long mid = -1;

	snprintf(id, sizeof(id), "%lld", uid);
	snprintf(sz, sizeof(sz), "%lld", size);
	snprintf(path, sizeof(path), "uploads/abuse-filler-%ld-%u.wav", (long)getpid(), ++seq);
	r = PQexecParams(db,
	                 "INSERT INTO media (user_id, title, kind, mime, path, size_bytes) "
	                 "VALUES ($1, 'filler', 'audio', 'audio/wav', $3, $2) RETURNING id",
	                 3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		mid = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "\n  filler: %s", PQerrorMessage(db));
	PQclear(r);
	return mid;
}

static void drop_row(long long mid)
{
	char id[24];
	const char *p[1] = { id };

	snprintf(id, sizeof(id), "%lld", mid);
	PQclear(PQexecParams(db, "DELETE FROM media WHERE id = $1", 1, NULL, p, NULL, NULL, 0));
}

/* Uploads file to path (/media, or a project's assets) as tok. Returns the status. */
static long upload(const char *tok, const char *path, const char *file, struct itest_resp *r)
{
	const struct itest_req q = { .method = "POST",
		                     .path = path,
		                     .token = tok,
		                     .file = file,
		                     .field = strcmp(path, "/media") == 0 ? "file" : "asset" };

	if (itest_send(&q, r) != 0)
		return -1;
	return r->status;
}

/* GET /auth/me's "storage" member: used bytes into *used, the quota into *q (-1 when null). */
static bool me_storage(const char *tok, long long *used, long long *q)
{
	struct itest_resp r;
	struct json_object *s;
	bool ok = false;

	if (itest_json("GET", "/auth/me", tok, NULL, &r) == 0 && r.status == 200) {
		s = itest_member(r.json, "storage");
		/* The seed's fields stay. */
		CU_ASSERT_PTR_NOT_NULL(itest_member_str(itest_member(r.json, "user"), "email"));
		CU_ASSERT_PTR_NOT_NULL(itest_member_str(itest_member(r.json, "user"), "createdAt"));
		if (s != NULL) {
			*used = itest_member_int(s, "usedBytes");
			*q = itest_member_null(s, "quotaBytes") ? -1 : itest_member_int(s, "quotaBytes");
			ok = *used >= 0;
		}
	}
	if (!ok)
		fprintf(stderr, "\n  GET /auth/me: %ld %s\n", r.status, r.body ? r.body : "");
	itest_resp_free(&r);
	return ok;
}

/* ---- POST /auth/register ------------------------------------------------------------------------- */

/* Every call counts (it is checked before the body is read: a registration costs 64 MiB of
 * argon2id), so the window is filled cheaply with empty bodies; IPv6 clients share it per /64. */
static void test_register_limit_per_ip_keys_ipv6_by_64(void)
{
	char net[64], h1[128], h2[128], h3[128], email[128];
	const char *fill[] = { "Content-Type: application/json", h1, NULL };
	unsigned a = (unsigned)getpid() & 0xffffu, b = (unsigned)time(NULL) & 0xfff0u;
	struct itest_resp r;
	long long i, bad = 0;

	if (register_limit > REGISTER_FILL_MAX) {
		fprintf(stderr, "\n  register_rate_ip = %lld: at most %d for this test\n", register_limit,
		        REGISTER_FILL_MAX);
		CU_FAIL_FATAL("register_rate_ip too high to test");
	}
	snprintf(net, sizeof(net), "2001:db8:%x:%x", a, b);
	snprintf(h1, sizeof(h1), "X-Forwarded-For: %s:aaaa::1", net);
	snprintf(h2, sizeof(h2), "X-Forwarded-For: %s:bbbb::2", net);
	snprintf(h3, sizeof(h3), "X-Forwarded-For: 2001:db8:%x:%x::1", a, b + 1);
	for (i = 0; i < register_limit; i++) {
		CU_ASSERT_FATAL(itest_request("POST", "/auth/register", fill, "{}", 2, &r) == 0);
		if (r.status != 400)
			bad++;
		itest_resp_free(&r);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* Another address of the same /64, with a valid body: refused, and nobody was created. */
	itest_unique_email(email, sizeof(email), "reg64");
	CU_ASSERT_FATAL(post_creds("/auth/register", h2, email, PASSWORD, &r) >= 0);
	assert_limited(&r, 3600);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(db_count("SELECT count(*) FROM users WHERE email = $1", email), 0);
	/* The next /64 has its own window. */
	CU_ASSERT_EQUAL(post_creds("/auth/register", h3, email, PASSWORD, &r), 201);
	itest_resp_free(&r);
}

/* ---- login: failures per account ----------------------------------------------------------------- */

/* login_fail_account failures from as many addresses (a distributed guess: every per-IP limit
 * passes) lock the account: even its password then gets 429, with the rest of the window. */
static void test_login_failures_lock_the_account(void)
{
	char tok[4096], email[128], other[128], nobody[128];
	struct itest_resp r;
	long long i;

	new_user(tok, sizeof(tok), email, sizeof(email), "lock");
	new_user(tok, sizeof(tok), other, sizeof(other), "lock-other");
	for (i = 0; i < fail_limit; i++)
		CU_ASSERT_EQUAL(login_status(email, "WrongPassword"), 401);
	CU_ASSERT_FATAL(post_creds("/auth/login", NULL, email, PASSWORD, &r) >= 0);
	assert_limited(&r, LOGIN_FAIL_WINDOW_S);
	CU_ASSERT_PTR_NULL(itest_jstr(&r, "token"));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(login_status(email, "WrongPassword"), 429);
	/* Other accounts are not touched. */
	CU_ASSERT_EQUAL(login_status(other, PASSWORD), 200);
	/* An address nobody registered locks the same way: the answers tell nobody who exists. */
	itest_unique_email(nobody, sizeof(nobody), "lock-nobody");
	for (i = 0; i < fail_limit; i++)
		CU_ASSERT_EQUAL(login_status(nobody, "WrongPassword"), 401);
	CU_ASSERT_EQUAL(login_status(nobody, PASSWORD), 429);
}

/* Failures are counted until a login succeeds: the owner logging in starts the count again. */
static void test_login_success_clears_the_failures(void)
{
	char tok[4096], email[128];
	long long i;

	new_user(tok, sizeof(tok), email, sizeof(email), "clear");
	for (i = 0; i + 1 < fail_limit; i++)
		CU_ASSERT_EQUAL(login_status(email, "WrongPassword"), 401);
	CU_ASSERT_EQUAL(login_status(email, PASSWORD), 200);
	for (i = 0; i < fail_limit; i++)
		CU_ASSERT_EQUAL(login_status(email, "WrongPassword"), 401);
	CU_ASSERT_EQUAL(login_status(email, PASSWORD), 429);
}

/* ---- X-Forwarded-For through the real web server -------------------------------------------------- */

/* The address a view sent with headers h was recorded under, into out. */
static void view_ip(const char *tok, long long mid, const char *const *h, char *out, size_t n)
{
	struct itest_req q = { .method = "POST", .headers = h, .token = tok, .body = "", .body_len = 0 };
	char path[64];
	struct itest_resp r;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/media/%lld/view", mid);
	q.path = path;
	CU_ASSERT_FATAL(itest_send(&q, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	if (itest_member_str(itest_member(r.json, "view"), "ip") != NULL)
		snprintf(out, n, "%s", itest_member_str(itest_member(r.json, "view"), "ip"));
	itest_resp_free(&r);
}

/*
 * lighttpd maps "X_Forwarded_For" to HTTP_X_FORWARDED_FOR like "X-Forwarded-For" and passes both:
 * mediad cannot tell which one the proxy wrote and believes neither (the peer, 127.0.0.1, is the
 * client). Apache drops header names with '_', so there only X-Forwarded-For counts. Repeated
 * X-Forwarded-For headers reach mediad joined ("a, b") under both, and are walked as one list.
 */
static void test_ambiguous_forwarded_for_is_not_believed(void)
{
	const char *ws = getenv("MEDIAD_WEB_SERVER");
	bool lighttpd = ws == NULL || strcmp(ws, "lighttpd") == 0;
	const char *under_first[] = { "X_Forwarded_For: 6.6.6.6", "X-Forwarded-For: 203.0.113.50", NULL };
	const char *under_last[] = { "X-Forwarded-For: 203.0.113.51", "X_Forwarded_For: 6.6.6.6", NULL };
	const char *twice[] = { "X-Forwarded-For: 6.6.6.6", "X-Forwarded-For: 203.0.113.52", NULL };
	const char *one[] = { "X-Forwarded-For: 203.0.113.53", NULL };
	char tok[4096], email[128], ip[64];
	struct itest_resp r;
	long long mid;

	new_user(tok, sizeof(tok), email, sizeof(email), "xff");
	CU_ASSERT_FATAL(upload(tok, "/media", small_wav, &r) == 201);
	mid = itest_member_int(r.json, "id");
	itest_resp_free(&r);
	view_ip(tok, mid, one, ip, sizeof(ip));
	CU_ASSERT_STRING_EQUAL(ip, "203.0.113.53");
	view_ip(tok, mid, under_first, ip, sizeof(ip));
	CU_ASSERT_STRING_EQUAL(ip, lighttpd ? "127.0.0.1" : "203.0.113.50");
	view_ip(tok, mid, under_last, ip, sizeof(ip));
	CU_ASSERT_STRING_EQUAL(ip, lighttpd ? "127.0.0.1" : "203.0.113.51");
	view_ip(tok, mid, twice, ip, sizeof(ip));
	CU_ASSERT_STRING_EQUAL(ip, "203.0.113.52");
	itest_delete_media(tok, mid);
}

/* ---- storage quota ------------------------------------------------------------------------------- */

static bool quota_set(void)
{
	if (quota > 0)
		return true;
	fprintf(stderr, "\n  storage_quota_bytes is 0: the harness sets one for this test\n");
	CU_FAIL("no storage quota");
	return false;
}

static void test_me_reports_storage_usage(void)
{
	char tok[4096], email[128];
	struct itest_resp r;
	long long used = -2, q = -2, mid, size;

	if (!quota_set())
		return;
	new_user(tok, sizeof(tok), email, sizeof(email), "usage");
	CU_ASSERT_FATAL(me_storage(tok, &used, &q));
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_EQUAL(q, quota);
	CU_ASSERT_FATAL(upload(tok, "/media", small_wav, &r) == 201);
	mid = itest_member_int(r.json, "id");
	size = itest_member_int(r.json, "sizeBytes");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(size, 4044);
	CU_ASSERT_FATAL(me_storage(tok, &used, &q));
	CU_ASSERT_EQUAL(used, size);
	itest_delete_media(tok, mid);
	CU_ASSERT_FATAL(me_storage(tok, &used, &q));
	CU_ASSERT_EQUAL(used, 0);
}

/* 100 bytes left and a 4 KB file: the body is small enough to be read (its Content-Length leaves
 * room for multipart framing), and the file is refused once it passes the quota, on both routes. */
static void test_upload_over_quota_is_413_and_leaves_nothing(void)
{
	char tok[4096], email[128], path[64];
	struct itest_resp r;
	long long uid, filler, pid, used = -2, q = -2;
	int before = itest_dir_count(uploads, NULL);

	if (!quota_set())
		return;
	uid = new_user(tok, sizeof(tok), email, sizeof(email), "quota");
	filler = filler_row(uid, quota - 100);
	CU_ASSERT_FATAL(filler > 0);
	CU_ASSERT_EQUAL(upload(tok, "/media", small_wav, &r), 413);
	CU_ASSERT_STRING_EQUAL(str_or_none(itest_jstr(&r, "error")), "quota_exceeded");
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "message"));
	itest_resp_free(&r);
	pid = itest_new_project(tok, "quota", NULL);
	snprintf(path, sizeof(path), "/projects/%lld/assets", pid);
	CU_ASSERT_EQUAL(upload(tok, path, small_wav, &r), 413);
	CU_ASSERT_STRING_EQUAL(str_or_none(itest_jstr(&r, "error")), "quota_exceeded");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(itest_dir_count(uploads, NULL), before);
	CU_ASSERT_EQUAL(user_rows(uid), 1);
	CU_ASSERT_FATAL(me_storage(tok, &used, &q));
	CU_ASSERT_EQUAL(used, quota - 100);
	CU_ASSERT_EQUAL(q, quota);
	/* With room again the same file goes in. */
	drop_row(filler);
	CU_ASSERT_EQUAL(upload(tok, "/media", small_wav, &r), 201);
	itest_resp_free(&r);
	itest_delete_project(tok, pid);
}

/* Reads what the server answers on fd within timeout_ms into out (NUL-terminated). */
static void read_answer(int fd, char *out, size_t n, int timeout_ms)
{
	long long end = itest_now_ms() + timeout_ms;
	size_t got = 0;

	while (got + 1 < n && itest_now_ms() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t k;

		if (poll(&p, 1, 100) <= 0)
			continue;
		k = read(fd, out + got, n - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
		if (strstr(out, "}") != NULL)
			break;
	}
	out[got] = '\0';
}

/* Sends n bytes of zeros on fd, stopping quietly if the server has closed it. */
static void send_zeros(int fd, size_t n)
{
	static const char zeros[65536];

	while (n > 0) {
		ssize_t k = send(fd, zeros, n < sizeof(zeros) ? n : sizeof(zeros), MSG_NOSIGNAL);

		if (k <= 0)
			return;
		n -= (size_t)k;
	}
}

/*
 * A Content-Length that cannot fit is refused before the body is read: no file is begun. Through
 * lighttpd the answer comes while most of the body was never sent. Apache's mod_proxy_fcgi holds
 * mediad's early answer until it has read the whole request body (checked: it answers only when the
 * client sends the rest or gives up), so there the rest is sent, then the answer read.
 */
static void test_upload_refused_from_content_length(void)
{
	const char *ws = getenv("MEDIAD_WEB_SERVER");
	bool lighttpd = ws == NULL || strcmp(ws, "lighttpd") == 0;
	char tok[4096], email[128], head[8192], ans[4096];
	static const char prefix[] = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	                             "filename=\"a.wav\"\r\n\r\n";
	const size_t body = 8388608, first = 65536;
	long long uid, filler;
	int before = itest_dir_count(uploads, NULL), fd, n;
	bool early;

	if (!quota_set())
		return;
	uid = new_user(tok, sizeof(tok), email, sizeof(email), "quota-cl");
	filler = filler_row(uid, quota - 100);
	CU_ASSERT_FATAL(filler > 0);
	fd = itest_connect(0);
	CU_ASSERT_FATAL(fd >= 0);
	n = snprintf(head, sizeof(head),
	             "POST /media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n"
	             "Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: %zu\r\n\r\n%s",
	             tok, body, prefix);
	CU_ASSERT_FATAL(write(fd, head, (size_t)n) == n);
	send_zeros(fd, first);
	read_answer(fd, ans, sizeof(ans), lighttpd ? 10000 : 2000);
	early = ans[0] != '\0';
	if (!early) {
		send_zeros(fd, body - (sizeof(prefix) - 1) - first);
		read_answer(fd, ans, sizeof(ans), 10000);
	}
	close(fd);
	if (strncmp(ans, "HTTP/1.1 413", 12) != 0 || strstr(ans, "\"quota_exceeded\"") == NULL)
		fprintf(stderr, "\n  answer: %.300s\n", ans);
	CU_ASSERT_EQUAL(strncmp(ans, "HTTP/1.1 413", 12), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(ans, "\"quota_exceeded\""));
	if (lighttpd)
		CU_ASSERT_TRUE(early);
	CU_ASSERT_EQUAL(itest_dir_count(uploads, NULL), before);
	CU_ASSERT_EQUAL(user_rows(uid), 1);
	drop_row(filler);
}

/* Room for one and a half files, two uploads at once: each fits alone, not both. One is stored;
 * the other is refused (at the latest when its row is inserted, under the user's row lock) and its
 * file removed. */
static void test_concurrent_uploads_cannot_both_fit(void)
{
	char tok[4096], email[128];
	long long uid, filler, used = -2, q = -2;
	int before = itest_dir_count(uploads, NULL), created = 0, refused = 0, other = 0, i;
	pid_t kids[2];

	if (!quota_set())
		return;
	uid = new_user(tok, sizeof(tok), email, sizeof(email), "quota-race");
	filler = filler_row(uid, quota - 1500000);
	CU_ASSERT_FATAL(filler > 0);
	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		CU_ASSERT_FATAL(kids[i] >= 0);
		if (kids[i] == 0) {
			struct itest_resp r;
			long st = upload(tok, "/media", big_wav, &r);
			const char *code_s = itest_jstr(&r, "error");
			int code = 2;

			if (st == 201)
				code = 0;
			else if (st == 413 && code_s != NULL && strcmp(code_s, "quota_exceeded") == 0)
				code = 1;

			if (code == 2)
				fprintf(stderr, "\n  concurrent upload: %ld %s\n", st, r.body ? r.body : "");
			_exit(code);
		}
	}
	for (i = 0; i < 2; i++) {
		int st = 0;

		while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			created++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
			refused++;
		else
			other++;
	}
	CU_ASSERT_EQUAL(created, 1);
	CU_ASSERT_EQUAL(refused, 1);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(itest_dir_count(uploads, NULL), before + created);
	CU_ASSERT_EQUAL(user_rows(uid), 1 + created);
	CU_ASSERT_FATAL(me_storage(tok, &used, &q));
	CU_ASSERT_TRUE(used <= quota);
	drop_row(filler);
	/* The user's own uploads go with its rows: leave no file for the next program to count. */
	{
		struct itest_resp r;
		struct json_object *items;
		size_t k;

		CU_ASSERT_FATAL(itest_json("GET", "/media", tok, NULL, &r) == 0 && r.status == 200);
		items = itest_member(r.json, "items");
		for (k = 0; items != NULL && k < json_object_array_length(items); k++)
			itest_delete_media(tok, itest_member_int(json_object_array_get_idx(items, k), "id"));
		itest_resp_free(&r);
	}
}

int main(void)
{
	CU_pSuite s;

	if (itest_init() != 0)
		return 2;
	itest_base();
	s = CU_add_suite("abuse", suite_init, suite_clean);
	if (s == NULL)
		return 2;
	CU_add_test(s, "register: per-IP limit, IPv6 keyed by /64",
	            test_register_limit_per_ip_keys_ipv6_by_64);
	CU_add_test(s, "login: failures lock the account", test_login_failures_lock_the_account);
	CU_add_test(s, "login: a success clears the failures", test_login_success_clears_the_failures);
	CU_add_test(s, "X-Forwarded-For: ambiguous is not believed",
	            test_ambiguous_forwarded_for_is_not_believed);
	CU_add_test(s, "quota: GET /auth/me reports usage", test_me_reports_storage_usage);
	CU_add_test(s, "quota: over it is 413 and leaves nothing",
	            test_upload_over_quota_is_413_and_leaves_nothing);
	CU_add_test(s, "quota: refused from Content-Length", test_upload_refused_from_content_length);
	CU_add_test(s, "quota: concurrent uploads cannot both fit", test_concurrent_uploads_cannot_both_fit);
	return itest_run_all();
}
