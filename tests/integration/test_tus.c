/* test_tus.c: resumable uploads (tus 1.0.0) against the real stack: creation, caps, offsets,
 * checksums, concurrency, a client cut off midway, completion into one media row, expiry and gc.
 *
 * Rows are read and aged with libpq (DATABASE_URL); the partial files are looked at, locked and
 * tampered with in MEDIA_ROOT/uploads, as a crash or a second client would. */
#include "config.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

extern char **environ;

#define RANDOM_LEN (2 * 1024 * 1024)

static PGconn *db;
static PGconn *lockdb; /* holds a user's row lock, as a concurrent upload's transaction would */
static char email_a[128];
static char dir[256];    /* fixtures made at test time */
static char clip[300];   /* a real video */
static char tok_a[4096]; /* two users */
static char tok_b[4096];
static unsigned char *rnd; /* RANDOM_LEN random bytes: not a media file */

/* ---- PostgreSQL -------------------------------------------------------------------------------- */

/* Runs q with n text parameters; the first cell of the first row goes into out (may be NULL). */
static bool sql(const char *q, int n, const char *const *params, char *out, size_t outlen)
{
	PGresult *res = PQexecParams(db, q, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "test_tus: %s: %s", q, PQerrorMessage(db));
	if (ok && out != NULL)
		snprintf(out, outlen, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return ok;
}

static long long sql_int(const char *q, const char *param)
{
	const char *p[1] = { param };
	char v[64];

	return sql(q, param != NULL ? 1 : 0, p, v, sizeof(v)) && v[0] != '\0' ? strtoll(v, NULL, 10) : -1;
}

/* ---- tus requests ------------------------------------------------------------------------------ */

/* POST /uploads of length bytes with metadata (NULL: none) as tok. */
static void create(const char *tok, const char *length, const char *metadata, struct itest_resp *r)
{
	char lh[64], mh[8192];
	const char *h[4] = { "Tus-Resumable: 1.0.0", lh, NULL, NULL };
	struct itest_req q = {
		.method = "POST", .path = "/uploads", .headers = h, .token = tok, .body = "", .body_len = 0
	};

	snprintf(lh, sizeof(lh), "Upload-Length: %s", length);
	if (metadata != NULL) {
		snprintf(mh, sizeof(mh), "Upload-Metadata: %s", metadata);
		h[2] = mh;
	}
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, r), 0);
}

/* Creates an upload of length bytes as tok; its id goes into id (37 bytes). */
static void new_upload(const char *tok, long long length, const char *metadata, char *id)
{
	struct itest_resp r = { 0 };
	char len[32], loc[512];
	const char *slash;

	snprintf(len, sizeof(len), "%lld", length);
	create(tok, len, metadata, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	CU_ASSERT_FATAL(itest_header(&r, "Location", loc, sizeof(loc)));
	slash = strrchr(loc, '/');
	CU_ASSERT_FATAL(slash != NULL && strlen(slash + 1) == 36);
	snprintf(id, 37, "%s", slash + 1);
	itest_resp_free(&r);
}

/* PATCH /uploads/id at offset with body[0..n) and extra header lines (NULL-terminated, may be NULL). */
static void patch(const char *tok, const char *id, long long offset, const void *body, size_t n,
                  const char *const *extra, struct itest_resp *r)
{
	char path[128], oh[64];
	const char *h[8] = { "Tus-Resumable: 1.0.0", "Content-Type: application/offset+octet-stream", oh };
	struct itest_req q = {
		.method = "PATCH", .path = path, .headers = h, .token = tok, .body = body, .body_len = n
	};
	int i = 3;

	snprintf(path, sizeof(path), "/uploads/%s", id);
	snprintf(oh, sizeof(oh), "Upload-Offset: %lld", offset);
	while (extra != NULL && *extra != NULL && i < 7)
		h[i++] = *extra++;
	h[i] = NULL;
	if (body == NULL)
		q.body = "";
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, r), 0);
}

static void head(const char *tok, const char *id, struct itest_resp *r)
{
	char path[128];
	const char *h[] = { "Tus-Resumable: 1.0.0", NULL };
	struct itest_req q = { .method = "HEAD", .path = path, .headers = h, .token = tok };

	snprintf(path, sizeof(path), "/uploads/%s", id);
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, r), 0);
}

/* HEAD's Upload-Offset, or -1 (any other status). */
static long long head_offset(const char *tok, const char *id)
{
	struct itest_resp r = { 0 };
	char v[32];
	long long off = -1;

	head(tok, id, &r);
	if (r.status == 200 && itest_header(&r, "Upload-Offset", v, sizeof(v)))
		off = strtoll(v, NULL, 10);
	itest_resp_free(&r);
	return off;
}

static void part_path(const char *id, char *out, size_t n)
{
	snprintf(out, n, "%s/uploads/.tus-%s.part", getenv("MEDIA_ROOT"), id);
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Expects status and, when want_offset >= 0, that Upload-Offset; Tus-Resumable is always there. */
static void expect(const struct itest_resp *r, long status, long long want_offset)
{
	char v[32];

	if (r->status != status)
		fprintf(stderr, "\n  test_tus: got %ld, want %ld: %s\n", r->status, status, r->body);
	CU_ASSERT_EQUAL(r->status, status);
	CU_ASSERT(itest_header(r, "Tus-Resumable", v, sizeof(v)) && strcmp(v, "1.0.0") == 0);
	if (want_offset >= 0)
		CU_ASSERT(itest_header(r, "Upload-Offset", v, sizeof(v)) &&
		          strtoll(v, NULL, 10) == want_offset);
}

/* The base64 of s, for Upload-Metadata. */
static void b64(const char *s, char *out, size_t n)
{
	sodium_bin2base64(out, n, (const unsigned char *)s, strlen(s), sodium_base64_VARIANT_ORIGINAL);
}

/* ---- faults ------------------------------------------------------------------------------------ */

static int run_gc_older(const char *older_than);

/* Takes user email's row lock (users_lock, which every upload's media insert waits for under a
 * quota) in lockdb's open transaction, until release_user_lock. */
static void hold_user_lock(const char *email)
{
	const char *p[1] = { email };
	PGresult *res = PQexec(lockdb, "BEGIN");

	CU_ASSERT_FATAL(PQresultStatus(res) == PGRES_COMMAND_OK);
	PQclear(res);
	res = PQexecParams(lockdb, "SELECT 1 FROM users WHERE email = $1 FOR UPDATE", 1, NULL, p, NULL, NULL,
	                   0);
	CU_ASSERT_FATAL(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1);
	PQclear(res);
}

static void release_user_lock(void)
{
	PQclear(PQexec(lockdb, "ROLLBACK"));
}

/* Waits (10 s at most) until a session waits for a row lock: a completion stands at users_lock. */
static bool wait_for_lock_waiter(void)
{
	long long deadline = itest_now_ms() + 10000;

	while (itest_now_ms() < deadline) {
		if (sql_int("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'", NULL) > 0)
			return true;
		itest_sleep_ms(20);
	}
	return false;
}

/* Media rows titled title. */
static long long media_count(const char *title)
{
	return sql_int("SELECT count(*) FROM media WHERE title = $1", title);
}

/* Opens a connection and sends a PATCH of upload id at offset announcing total body bytes, and the
 * first n of them (body). Returns the socket, or -1. */
static int raw_patch(const char *id, long long offset, size_t total, const void *body, size_t n)
{
	char req[8192];
	int fd = itest_connect(0), len;

	if (fd < 0)
		return -1;
	len = snprintf(req, sizeof(req),
	               "PATCH /uploads/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	               "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
	               "Upload-Offset: %lld\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	               id, tok_a, offset, total);
	if (write(fd, req, (size_t)len) != len || (n > 0 && write(fd, body, n) != (ssize_t)n)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads an answer from fd (closed here) within timeout_ms: its status (-1: none) and its header
 * block into head. */
static int raw_answer(int fd, int timeout_ms, char *head, size_t headlen)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	size_t got = 0;
	int status = -1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	head[0] = '\0';
	while (got + 1 < headlen && strstr(head, "\r\n\r\n") == NULL) {
		ssize_t n = read(fd, head + got, headlen - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		head[got] = '\0';
	}
	close(fd);
	if (sscanf(head, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	return status;
}

/* The pid of a process (ours: the tests run as root or as the stack's user) that has path open, or 0. */
static pid_t holder_of(const char *path)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	while (proc != NULL && found == 0 && (de = readdir(proc)) != NULL) {
		char fdpath[64], link[PATH_MAX];
		struct dirent *fe;
		DIR *fds;
		long pid = strtol(de->d_name, NULL, 10);

		if (pid <= 0 || pid == (long)getpid())
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/%ld/fd", pid);
		fds = opendir(fdpath);
		while (fds != NULL && (fe = readdir(fds)) != NULL) {
			char one[400];
			ssize_t n;

			snprintf(one, sizeof(one), "%s/%s", fdpath, fe->d_name);
			n = readlink(one, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, path) == 0) {
				found = (pid_t)pid;
				break;
			}
		}
		if (fds != NULL)
			closedir(fds);
	}
	if (proc != NULL)
		closedir(proc);
	return found;
}

/* ---- the tests --------------------------------------------------------------------------------- */

static void test_setup_users(void)
{
	itest_login(tok_a, sizeof(tok_a), email_a, sizeof(email_a), "tus-a");
	itest_login(tok_b, sizeof(tok_b), NULL, 0, "tus-b");
}

static void test_options_advertises_tus(void)
{
	struct itest_resp r = { 0 };
	char v[256];

	CU_ASSERT_EQUAL_FATAL(itest_request("OPTIONS", "/uploads", NULL, NULL, 0, &r), 0);
	CU_ASSERT_EQUAL(r.status, 204);
	CU_ASSERT(itest_header(&r, "Tus-Version", v, sizeof(v)) && strcmp(v, "1.0.0") == 0);
	CU_ASSERT(itest_header(&r, "Tus-Extension", v, sizeof(v)) &&
	          strcmp(v, "creation,termination,expiration,checksum") == 0);
	CU_ASSERT(itest_header(&r, "Tus-Max-Size", v, sizeof(v)) && strcmp(v, "16777216") == 0);
	CU_ASSERT(itest_header(&r, "Tus-Checksum-Algorithm", v, sizeof(v)) && strstr(v, "sha1") != NULL);
	itest_resp_free(&r);
}

/*
 * An origin the harness's mediad.conf lets in: the first of its cors_origins list (the last line
 * wins, as in mediad's parser), or any when it is "*" (the default) or unset.
 */
static void allowed_origin(char *out, size_t n)
{
	const char *path = getenv("MEDIAD_CONFIG");
	char line[1024], value[1024] = "*";
	FILE *f = path != NULL ? fopen(path, "r") : NULL;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *v = line + strspn(line, " \t");

		if (strncmp(v, "cors_origins", 12) != 0 && strncmp(v, "cors_origin", 11) != 0)
			continue;
		v += strcspn(v, "=");
		if (*v != '=')
			continue;
		v++;
		v += strspn(v, " \t");
		v[strcspn(v, "\r\n")] = '\0';
		snprintf(value, sizeof(value), "%s", v);
	}
	if (f != NULL)
		fclose(f);
	if (strcmp(value, "*") == 0 || value[0] == '\0')
		snprintf(out, n, "https://app.example.test");
	else
		snprintf(out, n, "%.*s", (int)strcspn(value, ", \t"), value);
}

/* A page on another origin may send the tus headers with PATCH, and read what tus answers. */
static void test_cors_lets_a_page_speak_tus(void)
{
	char origin[512], oh[600], v[1024];
	const char *pre[] = { oh, "Access-Control-Request-Method: PATCH",
		              "Access-Control-Request-Headers: upload-offset, tus-resumable", NULL };
	const char *post[] = { oh, "Tus-Resumable: 1.0.0", "Upload-Length: 10", NULL };
	struct itest_req q = {
		.method = "POST", .path = "/uploads", .headers = post, .token = tok_a, .body = ""
	};
	struct itest_resp r = { 0 };

	allowed_origin(origin, sizeof(origin));
	snprintf(oh, sizeof(oh), "Origin: %s", origin);
	CU_ASSERT_EQUAL_FATAL(
	        itest_request("OPTIONS", "/uploads/0b0e3e0a-1a23-4e98-b3d5-04c97e2c1f10", pre, NULL, 0, &r),
	        0);
	CU_ASSERT_EQUAL(r.status, 204);
	CU_ASSERT(itest_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
	CU_ASSERT(itest_header(&r, "Access-Control-Allow-Methods", v, sizeof(v)) &&
	          strstr(v, "PATCH") != NULL && strstr(v, "HEAD") != NULL && strstr(v, "DELETE") != NULL);
	CU_ASSERT(itest_header(&r, "Access-Control-Allow-Headers", v, sizeof(v)) &&
	          strstr(v, "Upload-Offset") != NULL && strstr(v, "Tus-Resumable") != NULL &&
	          strstr(v, "Upload-Checksum") != NULL && strstr(v, "Upload-Metadata") != NULL);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT(itest_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)));
	CU_ASSERT(itest_header(&r, "Access-Control-Expose-Headers", v, sizeof(v)) &&
	          strstr(v, "Location") != NULL && strstr(v, "Upload-Offset") != NULL &&
	          strstr(v, "Upload-Expires") != NULL && strstr(v, "Tus-Resumable") != NULL &&
	          strstr(v, "Upload-Metadata") != NULL && strstr(v, "Mediad-Resource") != NULL);
	itest_resp_free(&r);
}

static void test_creation_answers_location_and_expiry(void)
{
	struct itest_resp r = { 0 };
	char v[512], meta[512], t[64], f[64];

	b64("My clip", t, sizeof(t));
	b64("clip.mp4", f, sizeof(f));
	snprintf(meta, sizeof(meta), "filename %s,title %s,type dmlkZW8=,filetype dmlkZW8vbXA0,empty", f, t);
	create(tok_a, "1000", meta, &r);
	expect(&r, 201, -1);
	CU_ASSERT(itest_header(&r, "Location", v, sizeof(v)) &&
	          itest_matches(v, "^http://127\\.0\\.0\\.1:[0-9]+/uploads/[0-9a-f-]{36}$"));
	CU_ASSERT(itest_header(&r, "Upload-Expires", v, sizeof(v)) &&
	          itest_matches(v, "^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$"));
	itest_resp_free(&r);
}

static void test_creation_refuses_bad_length_caps_and_metadata(void)
{
	struct itest_resp r = { 0 };
	const char *h[] = { "Upload-Length: 10", NULL };
	struct itest_req q = {
		.method = "POST", .path = "/uploads", .headers = h, .token = tok_a, .body = ""
	};
	char big[5000];

	create(tok_a, "-1", NULL, &r);
	itest_assert_error(&r, 400, "bad_request");
	itest_resp_free(&r);
	create(tok_a, "12abc", NULL, &r);
	itest_assert_error(&r, 400, "bad_request");
	itest_resp_free(&r);
	create(tok_a, "16777217", NULL, &r); /* upload_max_bytes + 1 */
	itest_assert_error(&r, 413, "payload_too_large");
	itest_resp_free(&r);
	create(tok_a, "10", "title %%%", &r);
	itest_assert_error(&r, 400, "bad_request");
	itest_resp_free(&r);
	create(tok_a, "10", "type dGV4dA==", &r); /* "text" */
	itest_assert_error(&r, 400, "bad_request");
	itest_resp_free(&r);
	memset(big, 'A', sizeof(big) - 1);
	big[0] = 't', big[1] = ' ';
	big[sizeof(big) - 1] = '\0';
	create(tok_a, "10", big, &r);
	itest_assert_error(&r, 400, "bad_request");
	itest_resp_free(&r);
	/* Another user's project is not found. */
	{
		long long pid = itest_new_project(tok_b, "theirs", NULL);
		char num[32], meta[64];

		snprintf(num, sizeof(num), "%lld", pid);
		b64(num, meta + 10, sizeof(meta) - 10);
		memcpy(meta, "projectId ", 10);
		create(tok_a, "10", meta, &r);
		itest_assert_error(&r, 404, "not_found");
		itest_resp_free(&r);
	}
	/* No Tus-Resumable: 412 with the version we speak. */
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
	itest_assert_error(&r, 412, "precondition_failed");
	CU_ASSERT(itest_header(&r, "Tus-Version", big, sizeof(big)) && strcmp(big, "1.0.0") == 0);
	itest_resp_free(&r);
}

static void test_creation_refuses_a_length_past_the_quota(void)
{
	char tok[4096], email[128], uid[32];
	struct itest_resp r = { 0 };
	const char *p[1] = { email };

	itest_login(tok, sizeof(tok), email, sizeof(email), "tusquota");
	CU_ASSERT_FATAL(sql("SELECT id FROM users WHERE email = $1", 1, p, uid, sizeof(uid)));
	p[0] = uid;
	/* 1 GiB quota in the harness: this user already stores all but 1000 bytes of it. */
	CU_ASSERT_FATAL(
	        sql("INSERT INTO media (user_id, title, kind, mime, path, size_bytes) "
	            "VALUES ($1::bigint, 'filler', 'video', 'video/mp4', 'uploads/tus-filler-' || $1::text, "
	            "1073741824 - 1000)",
	            1, p, NULL, 0));
	create(tok, "1001", NULL, &r);
	itest_assert_error(&r, 413, "quota_exceeded");
	itest_resp_free(&r);
	create(tok, "1000", NULL, &r);
	CU_ASSERT_EQUAL(r.status, 201);
	itest_resp_free(&r);
	/* That open upload holds the last 1000 bytes: another one does not fit. */
	create(tok, "1", NULL, &r);
	itest_assert_error(&r, 413, "quota_exceeded");
	itest_resp_free(&r);
	/* An expired one holds nothing. */
	CU_ASSERT(sql("UPDATE uploads SET expires_at = now() - interval '1 second' WHERE user_id = $1", 1, p,
	              NULL, 0));
	create(tok, "1000", NULL, &r);
	CU_ASSERT_EQUAL(r.status, 201);
	itest_resp_free(&r);
	CU_ASSERT(sql("DELETE FROM uploads WHERE user_id = $1", 1, p, NULL, 0));
	CU_ASSERT(sql("DELETE FROM media WHERE user_id = $1", 1, p, NULL, 0));
}

/*
 * An open upload's length is reserved against the quota for multipart uploads too: one that fits
 * in what the user's media leave, but not beside that reservation, is 413 and leaves no row; the
 * tus upload itself completes (its own reservation is the file it stores), and once it is deleted
 * the same multipart upload fits.
 */
static void test_an_open_upload_reserves_its_length_against_multipart(void)
{
	char tok[4096], email[128], uid[32], filler[32], id[37], res[128];
	const char *p[2] = { email, NULL };
	struct itest_req q = {
		.method = "POST", .path = "/media", .token = tok, .file = clip, .filename = "reserve.mp4"
	};
	struct itest_resp r = { 0 };
	unsigned char *src;
	size_t len = 0;

	src = itest_slurp(clip, &len);
	CU_ASSERT_FATAL(src != NULL && len > 1000);
	itest_login(tok, sizeof(tok), email, sizeof(email), "tusreserve");
	CU_ASSERT_FATAL(sql("SELECT id FROM users WHERE email = $1", 1, p, uid, sizeof(uid)));
	/* 1 GiB quota in the harness: this user's media leave room for one and a half clips. */
	snprintf(filler, sizeof(filler), "%lld", 1073741824LL - (long long)(len + len / 2));
	p[0] = uid;
	p[1] = filler;
	CU_ASSERT_FATAL(sql("INSERT INTO media (user_id, title, kind, mime, path, size_bytes) "
	                    "VALUES ($1::bigint, 'filler', 'video', 'video/mp4', "
	                    "'uploads/tus-reserve-' || $1::text, $2::bigint)",
	                    2, p, NULL, 0));
	new_upload(tok, (long long)len, NULL, id);
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
	itest_assert_error(&r, 413, "quota_exceeded");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM media WHERE user_id = $1::bigint", uid), 1);
	/* The upload holding the room completes. */
	patch(tok, id, 0, src, len, NULL, &r);
	expect(&r, 204, (long long)len);
	CU_ASSERT_FATAL(itest_header(&r, "Mediad-Resource", res, sizeof(res)));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM media WHERE user_id = $1::bigint", uid), 2);
	/* Its media gone, nothing is reserved: the multipart upload fits. */
	itest_delete_media(tok, strtoll(res + 7, NULL, 10));
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM media WHERE user_id = $1::bigint", uid), 2);
	if (r.status == 201)
		itest_delete_media(tok, itest_member_int(r.json, "id"));
	itest_resp_free(&r);
	p[1] = NULL;
	CU_ASSERT(sql("DELETE FROM media WHERE user_id = $1::bigint AND title = 'filler'", 1, p, NULL, 0));
	free(src);
}

static void test_patch_checks_offset_type_checksum_and_owner(void)
{
	struct itest_resp r = { 0 };
	char id[37], part[512];
	const char *bad_sum[] = { "Upload-Checksum: sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL };
	const char *no_algo[] = { "Upload-Checksum: md5 AAAAAAAAAAAAAAAAAAAAAA==", NULL };
	unsigned char d[crypto_hash_sha256_BYTES];
	char sum[128], good[160];
	const char *good_sum[] = { good, NULL };

	new_upload(tok_a, 4096, NULL, id);
	part_path(id, part, sizeof(part));
	/* Wrong offset: 409 with the real one. */
	patch(tok_a, id, 10, rnd, 100, NULL, &r);
	itest_assert_error(&r, 409, "conflict");
	expect(&r, 409, 0);
	itest_resp_free(&r);
	/* Wrong content type: 415. */
	{
		char path[128];
		const char *h[] = { "Tus-Resumable: 1.0.0", "Content-Type: application/octet-stream",
			            "Upload-Offset: 0", NULL };
		struct itest_req q = { .method = "PATCH",
			               .path = path,
			               .headers = h,
			               .token = tok_a,
			               .body = (const char *)rnd,
			               .body_len = 100 };

		snprintf(path, sizeof(path), "/uploads/%s", id);
		CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
		itest_assert_error(&r, 415, "unsupported_media_type");
		itest_resp_free(&r);
	}
	/* A checksum that does not match: 460, and nothing of the body stays. */
	patch(tok_a, id, 0, rnd, 1000, bad_sum, &r);
	CU_ASSERT_EQUAL(r.status, 460);
	itest_assert_error(&r, 460, "checksum_mismatch");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(head_offset(tok_a, id), 0);
	CU_ASSERT(file_size(part) <= 0);
	patch(tok_a, id, 0, rnd, 1000, no_algo, &r);
	itest_assert_error(&r, 400, "bad_request");
	itest_resp_free(&r);
	/* A sha256 that matches: kept. */
	crypto_hash_sha256(d, rnd, 1000);
	sodium_bin2base64(sum, sizeof(sum), d, sizeof(d), sodium_base64_VARIANT_ORIGINAL);
	snprintf(good, sizeof(good), "Upload-Checksum: sha256 %s", sum);
	patch(tok_a, id, 0, rnd, 1000, good_sum, &r);
	expect(&r, 204, 1000);
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(file_size(part), 1000);
	/* Past Upload-Length: 413. */
	patch(tok_a, id, 1000, rnd, 4000, NULL, &r);
	itest_assert_error(&r, 413, "payload_too_large");
	itest_resp_free(&r);
	/* Another user's upload and a malformed id are not found. */
	patch(tok_b, id, 1000, rnd, 10, NULL, &r);
	itest_assert_error(&r, 404, "not_found");
	itest_resp_free(&r);
	head(tok_b, id, &r);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
	patch(tok_a, "not-a-uuid", 0, rnd, 10, NULL, &r);
	itest_assert_error(&r, 404, "not_found");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(head_offset(tok_a, id), 1000);
}

static void test_concurrent_patch_is_409(void)
{
	struct itest_resp r = { 0 };
	char id[37], part[512];
	int fd;

	new_upload(tok_a, 8192, NULL, id);
	patch(tok_a, id, 0, rnd, 1000, NULL, &r);
	expect(&r, 204, 1000);
	itest_resp_free(&r);
	part_path(id, part, sizeof(part));
	/* Another PATCH holds the file: this one is told at once. */
	fd = open(part, O_RDWR | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(flock(fd, LOCK_EX) == 0);
	patch(tok_a, id, 1000, rnd + 1000, 1000, NULL, &r);
	itest_assert_error(&r, 409, "conflict");
	itest_resp_free(&r);
	close(fd);
	patch(tok_a, id, 1000, rnd + 1000, 1000, NULL, &r);
	expect(&r, 204, 2000);
	itest_resp_free(&r);
}

static void test_unacknowledged_bytes_are_cut(void)
{
	struct itest_resp r = { 0 };
	char id[37], part[512];
	unsigned char back[3000];
	FILE *f;

	new_upload(tok_a, 8192, NULL, id);
	patch(tok_a, id, 0, rnd, 1000, NULL, &r);
	expect(&r, 204, 1000);
	itest_resp_free(&r);
	/* A crash between a write and its checkpoint leaves bytes no offset counts. */
	part_path(id, part, sizeof(part));
	f = fopen(part, "ab");
	CU_ASSERT_FATAL(f != NULL);
	fwrite("garbage!", 1, 8, f);
	fclose(f);
	CU_ASSERT_EQUAL(head_offset(tok_a, id), 1000);
	patch(tok_a, id, 1000, rnd + 1000, 2000, NULL, &r);
	expect(&r, 204, 3000);
	itest_resp_free(&r);
	f = fopen(part, "rb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(fread(back, 1, sizeof(back) + 0, f), sizeof(back));
	fclose(f);
	CU_ASSERT_EQUAL(memcmp(back, rnd, sizeof(back)), 0);
	CU_ASSERT_EQUAL(file_size(part), 3000);
}

static void test_a_client_cut_off_midway_keeps_what_came(void)
{
	char id[37], part[512], req[8192];
	long long off = -1, deadline;
	int fd, n;
	size_t half = RANDOM_LEN / 2;

	new_upload(tok_a, RANDOM_LEN, NULL, id);
	fd = itest_connect(0);
	CU_ASSERT_FATAL(fd >= 0);
	n = snprintf(req, sizeof(req),
	             "PATCH /uploads/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	             "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
	             "Upload-Offset: 0\r\nContent-Length: %d\r\n\r\n",
	             id, tok_a, RANDOM_LEN);
	CU_ASSERT_FATAL(write(fd, req, (size_t)n) == n);
	CU_ASSERT_FATAL(write(fd, rnd, half) == (ssize_t)half);
	/* Until the responder has the bytes (the file grows), then the client goes away. */
	part_path(id, part, sizeof(part));
	deadline = itest_now_ms() + 10000;
	while (file_size(part) < (long long)half && itest_now_ms() < deadline)
		itest_sleep_ms(20);
	close(fd);
	deadline = itest_now_ms() + 15000;
	while (itest_now_ms() < deadline) {
		off = head_offset(tok_a, id);
		if (off > 0)
			break;
		itest_sleep_ms(50);
	}
	/* What came was checkpointed though no checkpoint was due (tus_checkpoint_bytes is 64 MiB). */
	CU_ASSERT(off > 0 && off <= (long long)half);
	if (off > 0) {
		struct itest_resp r = { 0 };
		unsigned char *got;
		size_t len = 0;

		/* The kept bytes are the source's first ones, exactly. */
		got = itest_slurp(part, &len);
		CU_ASSERT_FATAL(got != NULL);
		CU_ASSERT_EQUAL((long long)len, off);
		CU_ASSERT(len <= RANDOM_LEN && memcmp(got, rnd, len) == 0);
		free(got);

		patch(tok_a, id, off, rnd + off, (size_t)(RANDOM_LEN - off), NULL, &r);
		/* The last byte came: random bytes are no media file, refused as multipart refuses it. */
		itest_assert_error(&r, 415, "unsupported_media_type");
		itest_resp_free(&r);
		got = itest_slurp(part, &len);
		CU_ASSERT(got == NULL); /* removed */
		free(got);
		head(tok_a, id, &r);
		CU_ASSERT_EQUAL(r.status, 410);
		itest_resp_free(&r);
		patch(tok_a, id, RANDOM_LEN, NULL, 0, NULL, &r);
		itest_assert_error(&r, 410, "gone");
		itest_resp_free(&r);
	}
}

static void test_completion_makes_one_media_row_with_the_same_bytes(void)
{
	struct itest_resp r = { 0 };
	unsigned char *src, *stored, d1[32], d2[32];
	size_t len = 0, slen = 0, cut;
	char id[37], meta[256], t[128], res[128], mpath[600], path[64];
	long long media_id;

	src = itest_slurp(clip, &len);
	CU_ASSERT_FATAL(src != NULL && len > 1000);
	b64("tus completion", t, sizeof(t));
	snprintf(meta, sizeof(meta), "title %s", t);
	new_upload(tok_a, (long long)len, meta, id);
	cut = len / 3;
	patch(tok_a, id, 0, src, cut, NULL, &r);
	expect(&r, 204, (long long)cut);
	CU_ASSERT_FALSE(itest_header(&r, "Mediad-Resource", res, sizeof(res)));
	itest_resp_free(&r);
	patch(tok_a, id, (long long)cut, src + cut, len - cut, NULL, &r);
	expect(&r, 204, (long long)len);
	CU_ASSERT_FATAL(itest_header(&r, "Mediad-Resource", res, sizeof(res)));
	CU_ASSERT(itest_matches(res, "^/media/[0-9]+$"));
	itest_resp_free(&r);
	media_id = strtoll(res + 7, NULL, 10);
	/* The last PATCH again, as a client that lost its answer would: no second row. */
	patch(tok_a, id, (long long)cut, src + cut, len - cut, NULL, &r);
	expect(&r, 409, (long long)len);
	itest_resp_free(&r);
	patch(tok_a, id, (long long)len, NULL, 0, NULL, &r);
	expect(&r, 204, (long long)len);
	CU_ASSERT(itest_header(&r, "Mediad-Resource", mpath, sizeof(mpath)) && strcmp(mpath, res) == 0);
	itest_resp_free(&r);
	head(tok_a, id, &r);
	expect(&r, 200, (long long)len);
	CU_ASSERT(itest_header(&r, "Mediad-Resource", mpath, sizeof(mpath)) && strcmp(mpath, res) == 0);
	itest_resp_free(&r);
	{
		const char *p[1] = { "tus completion" };
		char n[16];

		CU_ASSERT(sql("SELECT count(*) FROM media m JOIN users u ON u.id = m.user_id "
		              "WHERE m.title = $1",
		              1, p, n, sizeof(n)) &&
		          strcmp(n, "1") == 0);
	}
	snprintf(path, sizeof(path), "/media/%lld", media_id);
	CU_ASSERT_EQUAL_FATAL(itest_json("GET", path, tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "title"), "tus completion");
	snprintf(mpath, sizeof(mpath), "%s/%s", getenv("MEDIA_ROOT"), itest_jstr(&r, "path"));
	itest_resp_free(&r);
	stored = itest_slurp(mpath, &slen);
	CU_ASSERT_FATAL(stored != NULL);
	crypto_hash_sha256(d1, src, len);
	crypto_hash_sha256(d2, stored, slen);
	CU_ASSERT_EQUAL(slen, len);
	CU_ASSERT_EQUAL(memcmp(d1, d2, sizeof(d1)), 0);
	free(stored);
	free(src);
	/* The partial file is the media's now: nothing is left under the tus name. */
	part_path(id, mpath, sizeof(mpath));
	CU_ASSERT_EQUAL(file_size(mpath), -1);
	itest_delete_media(tok_a, media_id);
}

static void test_delete_terminates(void)
{
	struct itest_resp r = { 0 };
	char id[37], part[512], path[128];

	new_upload(tok_a, 8192, NULL, id);
	patch(tok_a, id, 0, rnd, 1000, NULL, &r);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/uploads/%s", id);
	{
		const char *h[] = { "Tus-Resumable: 1.0.0", NULL };
		struct itest_req q = { .method = "DELETE", .path = path, .headers = h, .token = tok_b };

		CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
		CU_ASSERT_EQUAL(r.status, 404);
		itest_resp_free(&r);
		q.token = tok_a;
		CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
		expect(&r, 204, -1);
		itest_resp_free(&r);
	}
	part_path(id, part, sizeof(part));
	CU_ASSERT_EQUAL(file_size(part), -1);
	head(tok_a, id, &r);
	CU_ASSERT_EQUAL(r.status, 404);
	itest_resp_free(&r);
}

/* A user may have upload_max_live (20) uploads receiving at once; the next is 429 until one goes. */
static void test_live_uploads_are_capped(void)
{
	char tok[4096], id[37], first[37], path[128];
	struct itest_resp r = { 0 };
	const char *h[] = { "Tus-Resumable: 1.0.0", NULL };
	struct itest_req q = { .method = "DELETE", .path = path, .headers = h, .token = tok };
	int i;

	itest_login(tok, sizeof(tok), NULL, 0, "tuslive");
	for (i = 0; i < 20; i++) {
		new_upload(tok, 10, NULL, id);
		if (i == 0)
			memcpy(first, id, sizeof(first));
	}
	create(tok, "10", NULL, &r);
	itest_assert_error(&r, 429, "rate_limited");
	CU_ASSERT(strstr(r.body, "upload_max_live") != NULL);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/uploads/%s", first);
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
	CU_ASSERT_EQUAL(r.status, 204);
	itest_resp_free(&r);
	create(tok, "10", NULL, &r);
	CU_ASSERT_EQUAL(r.status, 201);
	itest_resp_free(&r);
}

/* The partial file exists from the creation on (its name made durable there): a PATCH never
 * creates it, and one that finds it gone says the bytes were lost. */
static void test_creation_makes_the_partial_file(void)
{
	struct itest_resp r = { 0 };
	char id[37], part[512];

	new_upload(tok_a, 100, NULL, id);
	part_path(id, part, sizeof(part));
	CU_ASSERT_EQUAL(file_size(part), 0);
	CU_ASSERT_EQUAL(unlink(part), 0);
	patch(tok_a, id, 0, rnd, 10, NULL, &r);
	itest_assert_error(&r, 410, "gone");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(file_size(part), -1);
	head(tok_a, id, &r);
	CU_ASSERT_EQUAL(r.status, 410);
	itest_resp_free(&r);
}

/* HEAD is never cached and echoes Upload-Metadata as it was sent (creation extension). */
static void test_head_is_not_cached_and_echoes_the_metadata(void)
{
	struct itest_resp r = { 0 };
	char id[37], v[512], meta[256], t[64];

	b64("echoed", t, sizeof(t));
	snprintf(meta, sizeof(meta), "title %s,filetype dmlkZW8vbXA0,empty", t);
	new_upload(tok_a, 100, meta, id);
	head(tok_a, id, &r);
	expect(&r, 200, 0);
	CU_ASSERT(itest_header(&r, "Cache-Control", v, sizeof(v)) && strcmp(v, "no-store") == 0);
	CU_ASSERT(itest_header(&r, "Upload-Metadata", v, sizeof(v)) && strcmp(v, meta) == 0);
	CU_ASSERT(itest_header(&r, "Upload-Length", v, sizeof(v)) && strcmp(v, "100") == 0);
	CU_ASSERT(itest_header(&r, "Upload-Expires", v, sizeof(v)));
	itest_resp_free(&r);
	new_upload(tok_a, 100, NULL, id);
	head(tok_a, id, &r);
	expect(&r, 200, 0);
	CU_ASSERT(itest_header(&r, "Cache-Control", v, sizeof(v)) && strcmp(v, "no-store") == 0);
	CU_ASSERT_FALSE(itest_header(&r, "Upload-Metadata", v, sizeof(v)));
	itest_resp_free(&r);
}

/* HEAD, PATCH and DELETE without Tus-Resumable: 412 with the version we speak. The 401 of a
 * request without a token carries Tus-Resumable too. */
static void test_every_tus_request_needs_tus_resumable(void)
{
	static const char *const methods[] = { "HEAD", "PATCH", "DELETE" };
	const char *h[] = { "Content-Type: application/offset+octet-stream", "Upload-Offset: 0", NULL };
	struct itest_resp r = { 0 };
	char id[37], path[128], v[64];
	size_t i;

	new_upload(tok_a, 100, NULL, id);
	snprintf(path, sizeof(path), "/uploads/%s", id);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct itest_req q = { .method = methods[i], .path = path, .headers = h, .token = tok_a };

		if (strcmp(methods[i], "PATCH") == 0)
			q.body = "", q.body_len = 0;
		CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
		CU_ASSERT_EQUAL(r.status, 412);
		CU_ASSERT(itest_header(&r, "Tus-Version", v, sizeof(v)) && strcmp(v, "1.0.0") == 0);
		CU_ASSERT(itest_header(&r, "Tus-Resumable", v, sizeof(v)) && strcmp(v, "1.0.0") == 0);
		itest_resp_free(&r);
	}
	CU_ASSERT_EQUAL(head_offset(tok_a, id), 0); /* the DELETE did nothing */
	create(NULL, "10", NULL, &r);
	itest_assert_error(&r, 401, "unauthorized");
	CU_ASSERT(itest_header(&r, "Tus-Resumable", v, sizeof(v)) && strcmp(v, "1.0.0") == 0);
	itest_resp_free(&r);
}

/* Malformed Upload-Offset and Upload-Checksum are 400; the Content-Type is matched without regard
 * to case or parameters. */
static void test_patch_refuses_malformed_offsets_and_checksums(void)
{
	static const char *const offsets[] = { "-1", "+0", "abc", "1.0", "0x0", "99999999999999999999" };
	static const char *const sums[] = { "Upload-Checksum: sha1", "Upload-Checksum: sha1 !!!!",
		                            "Upload-Checksum: sha256 2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
		                            "Upload-Checksum: sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk" };
	struct itest_resp r = { 0 };
	char id[37], path[128], oh[64];
	const char *h[] = { "Tus-Resumable: 1.0.0", "Content-Type: application/offset+octet-stream", oh,
		            NULL };
	const char *odd_type[] = { "Tus-Resumable: 1.0.0",
		                   "Content-Type: Application/Offset+Octet-Stream; x=1", "Upload-Offset: 0",
		                   NULL };
	struct itest_req q = { .method = "PATCH",
		               .path = path,
		               .headers = h,
		               .token = tok_a,
		               .body = (const char *)rnd,
		               .body_len = 10 };
	size_t i;

	new_upload(tok_a, 100, NULL, id);
	snprintf(path, sizeof(path), "/uploads/%s", id);
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		snprintf(oh, sizeof(oh), "Upload-Offset: %s", offsets[i]);
		CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
		itest_assert_error(&r, 400, "bad_request");
		itest_resp_free(&r);
	}
	h[2] = "X-No-Offset: 1";
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
	itest_assert_error(&r, 400, "bad_request");
	itest_resp_free(&r);
	for (i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
		const char *extra[] = { sums[i], NULL };

		patch(tok_a, id, 0, rnd, 10, extra, &r);
		itest_assert_error(&r, 400, "bad_request");
		CU_ASSERT(strstr(r.body, "Upload-Checksum") != NULL);
		itest_resp_free(&r);
	}
	CU_ASSERT_EQUAL(head_offset(tok_a, id), 0);
	q.headers = odd_type;
	CU_ASSERT_EQUAL_FATAL(itest_send(&q, &r), 0);
	expect(&r, 204, 10);
	CU_ASSERT(itest_header(&r, "Upload-Expires", oh, sizeof(oh)));
	itest_resp_free(&r);
}

/*
 * A chunked PATCH (no Content-Length) still on its way is 411: the web server neither spools it
 * whole (lighttpd would, to upload-dirs) nor streams it (mediad could not check it against
 * Upload-Length before writing). One that arrived whole before it was handed on reaches mediad
 * with its length (lighttpd) and is taken like any other.
 */
static void test_a_chunked_patch_is_411(void)
{
	char id[37], req[8192], head_block[4096], part[512];
	int fd, n;

	new_upload(tok_a, 4 * 1024 * 1024, NULL, id);
	fd = itest_connect(0);
	CU_ASSERT_FATAL(fd >= 0);
	/* One chunk of 2 MiB announced, 64 KiB of it sent, the rest held back. */
	n = snprintf(req, sizeof(req),
	             "PATCH /uploads/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	             "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
	             "Upload-Offset: 0\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n200000\r\n",
	             id, tok_a);
	CU_ASSERT_FATAL(write(fd, req, (size_t)n) == n);
	CU_ASSERT_FATAL(write(fd, rnd, 65536) == 65536);
	n = raw_answer(fd, 10000, head_block, sizeof(head_block));
	if (n != 411)
		fprintf(stderr, "\n  test_tus: a chunked PATCH got: %s\n", head_block);
	CU_ASSERT_EQUAL(n, 411);
	part_path(id, part, sizeof(part));
	CU_ASSERT_EQUAL(file_size(part), 0);
	CU_ASSERT_EQUAL(head_offset(tok_a, id), 0);
}

/* projectId makes the upload an asset of that project. */
static void test_a_project_asset_through_tus(void)
{
	struct itest_resp r = { 0 };
	unsigned char *src;
	size_t len = 0;
	long long pid = itest_new_project(tok_a, "tus project", NULL), media_id;
	char id[37], meta[256], num[32], pb[64], res[128], path[64];

	src = itest_slurp(clip, &len);
	CU_ASSERT_FATAL(src != NULL && pid > 0);
	snprintf(num, sizeof(num), "%lld", pid);
	b64(num, pb, sizeof(pb));
	snprintf(meta, sizeof(meta), "projectId %s", pb);
	new_upload(tok_a, (long long)len, meta, id);
	patch(tok_a, id, 0, src, len, NULL, &r);
	expect(&r, 204, (long long)len);
	CU_ASSERT_FATAL(itest_header(&r, "Mediad-Resource", res, sizeof(res)));
	itest_resp_free(&r);
	media_id = strtoll(res + 7, NULL, 10);
	snprintf(path, sizeof(path), "/media/%lld", media_id);
	CU_ASSERT_EQUAL_FATAL(itest_json("GET", path, tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(itest_member_int(r.json, "projectId"), pid);
	itest_resp_free(&r);
	free(src);
	itest_delete_media(tok_a, media_id);
}

/*
 * Starts an upload of the clip (read into *src, *len; the caller frees it) titled title, and sends
 * its first len / div bytes. Returns that cut; the upload's id and partial file go into id, part.
 */
static size_t clip_started(const char *title, size_t div, unsigned char **src, size_t *len, char *id,
                           char *part, size_t partlen)
{
	struct itest_resp r = { 0 };
	char meta[256], t[128];
	size_t cut;

	*src = itest_slurp(clip, len);
	CU_ASSERT_FATAL(*src != NULL && *len > 1000);
	b64(title, t, sizeof(t));
	snprintf(meta, sizeof(meta), "title %s", t);
	new_upload(tok_a, (long long)*len, meta, id);
	part_path(id, part, partlen);
	cut = *len / div;
	patch(tok_a, id, 0, *src, cut, NULL, &r);
	expect(&r, 204, (long long)cut);
	itest_resp_free(&r);
	return cut;
}

/* Checks that the media of Mediad-Resource res ("/media/<id>") holds src[0..len) and is the only
 * one titled title, then deletes it. */
static void media_holds(const char *res, const char *title, const unsigned char *src, size_t len)
{
	struct itest_resp r = { 0 };
	char mpath[600], path[64];
	unsigned char *stored;
	size_t slen = 0;
	long long media_id;

	CU_ASSERT_FATAL(strncmp(res, "/media/", 7) == 0);
	media_id = strtoll(res + 7, NULL, 10);
	CU_ASSERT_EQUAL(media_count(title), 1);
	snprintf(path, sizeof(path), "/media/%lld", media_id);
	CU_ASSERT_EQUAL_FATAL(itest_json("GET", path, tok_a, NULL, &r), 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	snprintf(mpath, sizeof(mpath), "%s/%s", getenv("MEDIA_ROOT"), itest_jstr(&r, "path"));
	itest_resp_free(&r);
	stored = itest_slurp(mpath, &slen);
	CU_ASSERT(stored != NULL && slen == len && memcmp(stored, src, len) == 0);
	free(stored);
	itest_delete_media(tok_a, media_id);
}

/*
 * The media row cannot be written (its user's row lock held past db_lock_timeout_ms, as by a
 * database in trouble): the last PATCH is 503, and nothing is lost. The offset stays below the
 * length, the partial file keeps every byte, no media row exists, and the client resumes from
 * HEAD's offset to one media row of the same bytes.
 */
static void test_a_completion_that_cannot_commit_loses_nothing(void)
{
	struct itest_resp r = { 0 };
	unsigned char *src;
	size_t len = 0, cut;
	char id[37], part[512], res[128];
	long long off;

	cut = clip_started("tus unavailable", 2, &src, &len, id, part, sizeof(part));
	hold_user_lock(email_a);
	patch(tok_a, id, (long long)cut, src + cut, len - cut, NULL, &r);
	release_user_lock();
	itest_assert_error(&r, 503, "unavailable");
	itest_resp_free(&r);
	off = head_offset(tok_a, id);
	CU_ASSERT(off >= 0 && off < (long long)len);
	CU_ASSERT_EQUAL(file_size(part), (long long)len);
	CU_ASSERT_EQUAL(media_count("tus unavailable"), 0);
	/* tus-js-client after a 5xx: HEAD, then PATCH from there. */
	CU_ASSERT_FATAL(off >= 0);
	patch(tok_a, id, off, src + off, len - (size_t)off, NULL, &r);
	expect(&r, 204, (long long)len);
	CU_ASSERT_FATAL(itest_header(&r, "Mediad-Resource", res, sizeof(res)));
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(file_size(part), -1);
	/* The name the failed completion linked is an orphan (no row names it; the media has its
	 * own): gc removes it by its age, and the media keeps its file. */
	{
		const char *p[1] = { "tus unavailable" };
		struct timespec old[2] = { { time(NULL) - 2 * 86400, 0 }, { time(NULL) - 2 * 86400, 0 } };
		char rel[512], full[1024];
		struct stat st;

		CU_ASSERT_FATAL(sql("SELECT path FROM media WHERE title = $1", 1, p, rel, sizeof(rel)));
		snprintf(full, sizeof(full), "%s/%s", getenv("MEDIA_ROOT"), rel);
		CU_ASSERT(stat(full, &st) == 0 && st.st_nlink == 2);
		CU_ASSERT_EQUAL(utimensat(AT_FDCWD, full, old, 0), 0);
		CU_ASSERT_EQUAL(run_gc_older("1h"), 0);
		CU_ASSERT(stat(full, &st) == 0 && st.st_nlink == 1);
	}
	media_holds(res, "tus unavailable", src, len);
	free(src);
}

/*
 * Two last PATCHes at once, the first held in its completion (at the user's row lock): the second
 * is 409 at once and changes nothing; HEAD still says where to resume; once the lock goes the
 * first completes, and exactly one media row holds the bytes.
 */
static void test_two_last_patches_make_one_media(void)
{
	struct itest_resp r = { 0 };
	unsigned char *src;
	size_t len = 0, cut;
	char id[37], part[512], head_block[4096], res[128];
	const char *mr;
	int fd;

	cut = clip_started("tus twice", 3, &src, &len, id, part, sizeof(part));
	hold_user_lock(email_a);
	fd = raw_patch(id, (long long)cut, len - cut, src + cut, len - cut);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(wait_for_lock_waiter());
	/* The first is probed, linked and waits for the lock; the partial file is whole. */
	patch(tok_a, id, (long long)cut, src + cut, len - cut, NULL, &r);
	itest_assert_error(&r, 409, "conflict");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(head_offset(tok_a, id), (long long)cut);
	CU_ASSERT_EQUAL(file_size(part), (long long)len);
	release_user_lock();
	CU_ASSERT_EQUAL(raw_answer(fd, 30000, head_block, sizeof(head_block)), 204);
	mr = strstr(head_block, "Mediad-Resource: ");
	CU_ASSERT_FATAL(mr != NULL);
	snprintf(res, sizeof(res), "%.*s", (int)strcspn(mr + 17, "\r\n"), mr + 17);
	CU_ASSERT_EQUAL(head_offset(tok_a, id), (long long)len);
	CU_ASSERT_EQUAL(file_size(part), -1);
	media_holds(res, "tus twice", src, len);
	free(src);
}

/*
 * The responder writing a PATCH is killed (kill -9) midway: the pool starts another, HEAD says the
 * last checkpoint, the bytes past it are cut by the next PATCH, and the upload completes whole.
 */
static void test_a_responder_killed_midway_resumes(void)
{
	struct itest_resp r = { 0 };
	unsigned char *src;
	size_t len = 0, cut, half;
	char id[37], part[512], res[128];
	long long deadline, off = -1;
	pid_t pid = 0;
	int fd;

	cut = clip_started("tus killed", 3, &src, &len, id, part, sizeof(part));
	half = (len - cut) / 2;
	fd = raw_patch(id, (long long)cut, len - cut, src + cut, half);
	CU_ASSERT_FATAL(fd >= 0);
	deadline = itest_now_ms() + 10000;
	while (itest_now_ms() < deadline && (file_size(part) < (long long)(cut + half) || pid == 0)) {
		pid = holder_of(part);
		itest_sleep_ms(20);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(kill(pid, SIGKILL) == 0);
	close(fd);
	deadline = itest_now_ms() + 15000;
	while (itest_now_ms() < deadline && holder_of(part) == pid)
		itest_sleep_ms(20);
	/* Nothing of the cut-off PATCH was checkpointed (it was killed before its end). */
	deadline = itest_now_ms() + 15000;
	while (itest_now_ms() < deadline && (off = head_offset(tok_a, id)) < 0)
		itest_sleep_ms(50);
	CU_ASSERT_EQUAL(off, (long long)cut);
	CU_ASSERT(file_size(part) >= (long long)cut);
	CU_ASSERT_FATAL(off >= 0 && off < (long long)len);
	/* The rest, as a tus client sends it: while the web server has not got its upload
	 * responder back it may answer 5xx, and a client asks HEAD and sends again (bounded). */
	deadline = itest_now_ms() + 15000;
	for (;;) {
		patch(tok_a, id, off, src + off, len - (size_t)off, NULL, &r);
		if (r.status < 500 || itest_now_ms() >= deadline)
			break;
		itest_resp_free(&r);
		itest_sleep_ms(200);
		off = head_offset(tok_a, id);
		CU_ASSERT_FATAL(off >= 0 && off < (long long)len);
	}
	expect(&r, 204, (long long)len);
	CU_ASSERT_FATAL(itest_header(&r, "Mediad-Resource", res, sizeof(res)));
	itest_resp_free(&r);
	media_holds(res, "tus killed", src, len);
	free(src);
}

/* Runs $MEDIACTL gc (with --older-than older_than unless NULL); returns its exit code. */
static int run_gc_older(const char *older_than)
{
	const char *argv[] = { getenv("MEDIACTL"), "gc", older_than != NULL ? "--older-than" : NULL,
		               older_than, NULL };
	pid_t pid;
	int st;

	if (argv[0] == NULL ||
	    posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)(uintptr_t)argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_gc(void)
{
	return run_gc_older(NULL);
}

static void test_expired_uploads_are_gone_and_gc_removes_them(void)
{
	struct itest_resp r = { 0 };
	char id[37], part[512];

	new_upload(tok_a, 8192, NULL, id);
	patch(tok_a, id, 0, rnd, 1000, NULL, &r);
	itest_resp_free(&r);
	part_path(id, part, sizeof(part));
	CU_ASSERT_EQUAL(file_size(part), 1000);
	{
		const char *p[1] = { id };

		CU_ASSERT_FATAL(
		        sql("UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = $1", 1, p,
		            NULL, 0));
	}
	head(tok_a, id, &r);
	CU_ASSERT_EQUAL(r.status, 410);
	itest_resp_free(&r);
	patch(tok_a, id, 1000, rnd, 10, NULL, &r);
	itest_assert_error(&r, 410, "gone");
	itest_resp_free(&r);
	CU_ASSERT_EQUAL(run_gc(), 0);
	CU_ASSERT_EQUAL(file_size(part), -1);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM uploads WHERE id = $1", id), 0);
}

/* gc leaves an expired upload alone while a PATCH holds its file's lock, and takes it after. */
static void test_gc_skips_an_upload_a_patch_holds(void)
{
	struct itest_resp r = { 0 };
	char id[37], part[512];
	const char *p[1] = { id };
	int fd;

	new_upload(tok_a, 8192, NULL, id);
	patch(tok_a, id, 0, rnd, 1000, NULL, &r);
	itest_resp_free(&r);
	part_path(id, part, sizeof(part));
	CU_ASSERT_FATAL(sql("UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = $1", 1, p,
	                    NULL, 0));
	fd = open(part, O_RDWR | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(flock(fd, LOCK_EX) == 0);
	CU_ASSERT_EQUAL(run_gc(), 0);
	CU_ASSERT_EQUAL(file_size(part), 1000);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM uploads WHERE id = $1", id), 1);
	close(fd);
	CU_ASSERT_EQUAL(run_gc(), 0);
	CU_ASSERT_EQUAL(file_size(part), -1);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM uploads WHERE id = $1", id), 0);
}

/* ---- set-up ------------------------------------------------------------------------------------ */

static int suite_init(void)
{
	const char *url = getenv("DATABASE_URL");
	const char *mk[] = { "ffmpeg",
		             "-nostdin",
		             "-y",
		             "-f",
		             "lavfi",
		             "-i",
		             "testsrc=size=160x120:rate=10",
		             "-t",
		             "2",
		             "-pix_fmt",
		             "yuv420p",
		             "-c:v",
		             "libx264",
		             clip,
		             NULL };

	if (url == NULL || getenv("MEDIA_ROOT") == NULL || sodium_init() < 0) {
		fprintf(stderr, "test_tus: run through the harness (tests/integration/run-lighttpd.sh)\n");
		return -1;
	}
	db = PQconnectdb(url);
	lockdb = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK || PQstatus(lockdb) != CONNECTION_OK) {
		fprintf(stderr, "test_tus: %s%s", PQerrorMessage(db), PQerrorMessage(lockdb));
		return -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/mediad-tus-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(clip, sizeof(clip), "%s/clip.mp4", dir);
	if (itest_run(mk) != 0)
		return -1;
	rnd = malloc(RANDOM_LEN);
	if (rnd == NULL)
		return -1;
	randombytes_buf(rnd, RANDOM_LEN);
	return 0;
}

static int suite_clean(void)
{
	unlink(clip);
	rmdir(dir);
	free(rnd);
	PQfinish(lockdb);
	PQfinish(db);
	return 0;
}

int main(void)
{
	CU_pSuite s;

	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("tus", suite_init, suite_clean);
	CU_add_test(s, "two users register and log in", test_setup_users);
	CU_add_test(s, "OPTIONS /uploads advertises tus 1.0.0", test_options_advertises_tus);
	CU_add_test(s, "CORS lets a page speak tus", test_cors_lets_a_page_speak_tus);
	CU_add_test(s, "creation answers Location and Upload-Expires",
	            test_creation_answers_location_and_expiry);
	CU_add_test(s, "creation refuses bad lengths, caps and metadata",
	            test_creation_refuses_bad_length_caps_and_metadata);
	CU_add_test(s, "creation refuses a length past the quota",
	            test_creation_refuses_a_length_past_the_quota);
	CU_add_test(s, "an open upload reserves its length against multipart",
	            test_an_open_upload_reserves_its_length_against_multipart);
	CU_add_test(s, "PATCH checks offset, type, checksum and owner",
	            test_patch_checks_offset_type_checksum_and_owner);
	CU_add_test(s, "a concurrent PATCH is 409", test_concurrent_patch_is_409);
	CU_add_test(s, "unacknowledged bytes are cut", test_unacknowledged_bytes_are_cut);
	CU_add_test(s, "a client cut off midway keeps what came",
	            test_a_client_cut_off_midway_keeps_what_came);
	CU_add_test(s, "completion makes one media row with the same bytes",
	            test_completion_makes_one_media_row_with_the_same_bytes);
	CU_add_test(s, "DELETE terminates", test_delete_terminates);
	CU_add_test(s, "expired uploads are gone and gc removes them",
	            test_expired_uploads_are_gone_and_gc_removes_them);
	CU_add_test(s, "gc skips an upload a PATCH holds", test_gc_skips_an_upload_a_patch_holds);
	CU_add_test(s, "live uploads are capped", test_live_uploads_are_capped);
	CU_add_test(s, "creation makes the partial file", test_creation_makes_the_partial_file);
	CU_add_test(s, "HEAD is not cached and echoes the metadata",
	            test_head_is_not_cached_and_echoes_the_metadata);
	CU_add_test(s, "every tus request needs Tus-Resumable", test_every_tus_request_needs_tus_resumable);
	CU_add_test(s, "PATCH refuses malformed offsets and checksums",
	            test_patch_refuses_malformed_offsets_and_checksums);
	CU_add_test(s, "a chunked PATCH is 411", test_a_chunked_patch_is_411);
	CU_add_test(s, "a project asset through tus", test_a_project_asset_through_tus);
	CU_add_test(s, "a completion that cannot commit loses nothing",
	            test_a_completion_that_cannot_commit_loses_nothing);
	CU_add_test(s, "two last PATCHes make one media", test_two_last_patches_make_one_media);
	CU_add_test(s, "a responder killed midway resumes", test_a_responder_killed_midway_resumes);
	return itest_run_all();
}
