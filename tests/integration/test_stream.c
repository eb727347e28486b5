/* test_stream.c: signed stream links and GET/HEAD /media/:id/stream, in x-sendfile and direct mode. */
#include "config.h"

#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/signlink.h"
#include "itest.h"

/* Bytes mediad writes per chunk in direct mode: ranges are checked across this boundary. */
#define DIRECT_CHUNK 65536
/* How long a test waits for the stack to reach a state (descriptors released...). */
#define WAIT_MS 15000
/* The page origin a player is on: cors_origins is "*" (the default), or a list that names it
 * (run-lighttpd-direct.sh). test_cors covers the rest of CORS. */
#define PLAYER_ORIGIN "https://app.example.test"

/* A file uploaded through POST /media, and the bytes that were sent. */
struct media {
	long long id;
	char mime[64];
	long long size;
};

static char dir[256];    /* fixtures made by ffmpeg at test time */
static char tok_a[4096]; /* owner of the media */
static char tok_b[4096]; /* another user */
static unsigned char link_key[SIGNLINK_KEY_LEN];
static bool direct_mode;    /* MEDIAD_STREAM_MODE=direct */
static unsigned char *tone; /* tone.wav: a little over one direct-mode chunk */
static size_t tone_len;
static struct media m_tone;  /* tone.wav uploaded by A, shared by the read-only tests */
static struct media m_other; /* another upload of A, for links used on the wrong media */

static void fixture(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* The link key, made from the stream_key line of the harness's mediad.conf as mediad makes it. */
static int read_link_key(void)
{
	const char *path = getenv("MEDIAD_CONFIG");
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[512], hex[256] = "";

	if (f == NULL) {
		fprintf(stderr, "test_stream: cannot read MEDIAD_CONFIG\n");
		return -1;
	}
	/* A later line wins, as in mediad's own parser. */
	while (fgets(line, sizeof(line), f) != NULL)
		(void)sscanf(line, "stream_key = %255s", hex);
	fclose(f);
	if (hex[0] == '\0' || signlink_key_from_setting(hex, link_key) != 0) {
		fprintf(stderr, "test_stream: no stream_key in %s\n", path);
		return -1;
	}
	return 0;
}

/* POST /media with file in the "file" field as tok. Returns the status; fills m on 201. */
static long upload(const char *tok, const char *file, struct media *m)
{
	const struct itest_req q = { .method = "POST", .path = "/media", .token = tok, .file = file };
	struct itest_resp r;
	long st;

	memset(m, 0, sizeof(*m));
	(void)itest_send(&q, &r);
	if (r.status == 201) {
		m->id = json_object_get_int64(itest_member(r.json, "id"));
		snprintf(m->mime, sizeof(m->mime), "%s",
		         itest_jstr(&r, "mime") ? itest_jstr(&r, "mime") : "");
		m->size = json_object_get_int64(itest_member(r.json, "sizeBytes"));
	}
	if (r.status != 201)
		fprintf(stderr, "\n  POST /media %s -> %ld %s\n", file, r.status, r.body ? r.body : "");
	st = r.status;
	itest_resp_free(&r);
	return st;
}

/*
 * GET /media/:id/stream-url as tok. On 200 writes the link relative to the base URL (path and
 * query) into rel and its expiry into *expires; returns the status (-1: transport error). r is left
 * for the caller to inspect and free when non-NULL.
 */
static long stream_url(const char *tok, long long id, char *rel, size_t n, long long *expires,
                       struct itest_resp *keep)
{
	char path[64];
	struct itest_resp r;
	const char *url, *q;
	long st;

	rel[0] = '\0';
	snprintf(path, sizeof(path), "/media/%lld/stream-url", id);
	if (itest_json("GET", path, tok, NULL, &r) != 0)
		return -1;
	st = r.status;
	url = itest_jstr(&r, "url");
	if (st == 200 && url != NULL && strncmp(url, itest_base(), strlen(itest_base())) == 0) {
		snprintf(rel, n, "%s", url + strlen(itest_base()));
		q = strstr(rel, "expires=");
		if (q != NULL && expires != NULL)
			*expires = strtoll(q + strlen("expires="), NULL, 10);
	}
	if (keep != NULL)
		*keep = r;
	else
		itest_resp_free(&r);
	return st;
}

/* A valid link of A's media id (fails the test when there is none). */
static void link_of(long long id, char *rel, size_t n)
{
	CU_ASSERT_FATAL(stream_url(tok_a, id, rel, n, NULL, NULL) == 200);
	CU_ASSERT_FATAL(rel[0] != '\0');
}

/* Sends method rel with one optional extra header line. */
static int fetch(const char *method, const char *rel, const char *header, struct itest_resp *r)
{
	const char *h[] = { header, NULL };

	return itest_request(method, rel, header ? h : NULL, NULL, 0, r);
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

/* GET rel with a Range header; asserts 206 with exactly bytes [start, end] of tone.wav. */
static void assert_range(const char *range, size_t start, size_t end)
{
	char rel[1024], h[128], cr[128], want[128], cl[32];
	struct itest_resp r;

	link_of(m_tone.id, rel, sizeof(rel));
	snprintf(h, sizeof(h), "Range: %s", range);
	CU_ASSERT_FATAL(fetch("GET", rel, h, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 206);
	snprintf(want, sizeof(want), "bytes %zu-%zu/%zu", start, end, tone_len);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Range", cr, sizeof(cr)));
	CU_ASSERT_STRING_EQUAL(cr, want);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Length", cl, sizeof(cl)));
	CU_ASSERT_EQUAL(strtoull(cl, NULL, 10), end - start + 1);
	CU_ASSERT_EQUAL(r.body_len, end - start + 1);
	CU_ASSERT_TRUE(r.body_len == end - start + 1 && memcmp(r.body, tone + start, r.body_len) == 0);
	itest_resp_free(&r);
}

/* ---- /proc: which processes hold a descriptor into MEDIA_ROOT -------------------------------- */

static char media_root_real[PATH_MAX];
static char mediad_real[PATH_MAX];

/* Whether pid's environment holds the NUL-terminated entry want (e.g. "MEDIAD_CONFIG=..."). */
static bool environ_has(long pid, const char *want)
{
	char path[64], *buf = NULL;
	size_t len = 0, wl = strlen(want) + 1;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	/* getdelim splits at each NUL: one entry per call. */
	while (!found && getdelim(&buf, &len, '\0', f) > 0)
		found = memcmp(buf, want, wl) == 0;
	free(buf);
	fclose(f);
	return found;
}

/* itest_proc_scan's test for mediad_pids: ud is the "MEDIAD_CONFIG=..." entry to look for. */
static bool is_our_mediad(const struct itest_proc *p, void *ud)
{
	char path[64], argv0[PATH_MAX], real[PATH_MAX];
	FILE *f;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)p->pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	len = fread(argv0, 1, sizeof(argv0) - 1, f);
	fclose(f);
	argv0[len] = '\0'; /* cmdline is NUL-separated: this keeps argv[0] */
	return len > 0 && realpath(argv0, real) != NULL && strcmp(real, mediad_real) == 0 &&
	       environ_has(p->pid, ud);
}

/*
 * The pids (up to max) of this stack's mediad responders: processes whose argv[0] is the built
 * mediad and whose MEDIAD_CONFIG is ours (other stacks may run the same binary meanwhile).
 */
static int mediad_pids(pid_t *out, int max)
{
	char cfg[PATH_MAX + 32];
	int n;

	snprintf(cfg, sizeof(cfg), "MEDIAD_CONFIG=%s", getenv("MEDIAD_CONFIG"));
	n = itest_proc_scan(is_our_mediad, cfg, out, max);
	return n < 0 ? 0 : n;
}

/* Whether pid has a descriptor open on a file under MEDIA_ROOT. */
static bool holds_media_file(pid_t pid)
{
	char path[64], link[PATH_MAX + 32];
	size_t rl = strlen(media_root_real);
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	d = opendir(path);
	if (d == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		char fdpath[384];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strncmp(link, media_root_real, rl) == 0 && link[rl] == '/';
	}
	closedir(d);
	return found;
}

/* The first mediad process holding a media file, or 0; *seen gets how many mediad pids exist. */
static pid_t mediad_holder(int *seen)
{
	pid_t pids[256];
	int n = mediad_pids(pids, 256);

	if (seen != NULL)
		*seen = n;
	for (int i = 0; i < n; i++)
		if (holds_media_file(pids[i]))
			return pids[i];
	return 0;
}

/*
 * Opens a raw connection, sends GET rel and reads at least want bytes of the answer (status line
 * included), then stops reading: the server is left blocked on a client that no longer reads.
 * Returns the socket, or -1.
 */
static int stalled_download(const char *rel, size_t want)
{
	char req[2048], buf[16384];
	int fd, n, waited = 0;
	size_t got = 0;
	bool ok200 = false;

	/* A small window: little sits in our buffers, the rest waits at the server. */
	fd = itest_connect(4096);
	if (fd < 0)
		return -1;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
	             rel);
	if (write(fd, req, (size_t)n) != n)
		goto fail;
	while (got < want && waited < WAIT_MS) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 100) == 0) {
			waited += 100;
			continue;
		}
		r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			goto fail;
		if (got == 0)
			ok200 = r >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0;
		got += (size_t)r;
	}
	if (got >= want && ok200)
		return fd;
fail:
	close(fd);
	return -1;
}

/* Closes fd with a reset, as a client that gives up does. */
static void abort_connection(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* ---- the tests -------------------------------------------------------------------------------- */

static void test_setup_users_and_media(void)
{
	char wav[300];

	itest_login(tok_a, sizeof(tok_a), NULL, 0, "stream-a");
	itest_login(tok_b, sizeof(tok_b), NULL, 0, "stream-b");
	fixture(wav, sizeof(wav), "tone.wav");
	CU_ASSERT_FATAL(upload(tok_a, wav, &m_tone) == 201);
	CU_ASSERT_FATAL(upload(tok_a, wav, &m_other) == 201);
	CU_ASSERT_EQUAL_FATAL(m_tone.size, (long long)tone_len);
	CU_ASSERT_FATAL(m_tone.mime[0] != '\0');
}

static void test_stream_url_is_signed_link_under_public_base(void)
{
	char rel[1024], prefix[64], exp_s[32], sig[128];
	struct itest_resp r;
	long long expires = 0;
	time_t now = time(NULL);
	const char *at;

	CU_ASSERT_FATAL(stream_url(tok_a, m_tone.id, rel, sizeof(rel), &expires, &r) == 200);
	/* The url is absolute, under public_base_url (the harness sets it to the base URL). */
	CU_ASSERT_FATAL(rel[0] != '\0');
	snprintf(prefix, sizeof(prefix), "/media/%lld/stream?", m_tone.id);
	CU_ASSERT_EQUAL(strncmp(rel, prefix, strlen(prefix)), 0);
	CU_ASSERT_TRUE(itest_query_param(rel, "expires", exp_s, sizeof(exp_s)));
	CU_ASSERT_TRUE(itest_query_param(rel, "sig", sig, sizeof(sig)));
	CU_ASSERT_EQUAL(strlen(sig), SIGNLINK_SIG_LEN);
	CU_ASSERT_EQUAL(strspn(sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
	                strlen(sig));
	/* stream_ttl defaults to 600 s. */
	CU_ASSERT_TRUE(expires >= (long long)now + 600 - 5 && expires <= (long long)now + 600 + 5);
	at = itest_jstr(&r, "expiresAt");
	CU_ASSERT_PTR_NOT_NULL(at);
	CU_ASSERT_EQUAL((long long)itest_parse_rfc3339_utc(at), expires);
	itest_resp_free(&r);
}

static void test_stream_url_of_another_users_media_is_404(void)
{
	char rel[1024];
	struct itest_resp r;

	CU_ASSERT_EQUAL(stream_url(tok_b, m_tone.id, rel, sizeof(rel), NULL, &r), 404);
	CU_ASSERT_PTR_NULL(itest_jstr(&r, "url"));
	itest_resp_free(&r);
}

static void test_stream_url_without_token_is_401(void)
{
	char path[64];
	struct itest_resp r;

	snprintf(path, sizeof(path), "/media/%lld/stream-url", m_tone.id);
	CU_ASSERT_FATAL(itest_request("GET", path, NULL, NULL, 0, &r) == 0);
	itest_assert_error(&r, 401, "unauthorized");
	itest_resp_free(&r);
}

static void test_get_serves_the_file_without_authorization(void)
{
	char rel[1024], ct[128], cl[32];
	struct itest_resp r;

	link_of(m_tone.id, rel, sizeof(rel));
	CU_ASSERT_FATAL(fetch("GET", rel, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Type", ct, sizeof(ct)));
	CU_ASSERT_STRING_EQUAL(ct, m_tone.mime);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Length", cl, sizeof(cl)));
	CU_ASSERT_EQUAL(strtoull(cl, NULL, 10), tone_len);
	CU_ASSERT_EQUAL(r.body_len, tone_len);
	CU_ASSERT_TRUE(r.body_len == tone_len && memcmp(r.body, tone, tone_len) == 0);
	itest_resp_free(&r);
}

static void test_stream_headers_cache_cors_ranges_validators(void)
{
	char rel[1024], v[256];
	struct itest_resp r;

	link_of(m_tone.id, rel, sizeof(rel));
	CU_ASSERT_FATAL(fetch("GET", rel, "Origin: " PLAYER_ORIGIN, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_TRUE(itest_header(&r, "Cache-Control", v, sizeof(v)) && strstr(v, "private") != NULL);
	CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)) &&
	               (strcmp(v, "*") == 0 || strcmp(v, PLAYER_ORIGIN) == 0));
	CU_ASSERT_TRUE(itest_header(&r, "Accept-Ranges", v, sizeof(v)) && strcmp(v, "bytes") == 0);
	CU_ASSERT_TRUE(itest_header(&r, "ETag", v, sizeof(v)) && v[0] != '\0');
	CU_ASSERT_TRUE(itest_header(&r, "Last-Modified", v, sizeof(v)) && curl_getdate(v, NULL) > 0);
	/* Each once: the web server and mediad must not both add one (two ACAO values fail CORS). */
	CU_ASSERT_EQUAL(header_count(&r, "Cache-Control"), 1);
	CU_ASSERT_EQUAL(header_count(&r, "Access-Control-Allow-Origin"), 1);
	CU_ASSERT_EQUAL(header_count(&r, "Accept-Ranges"), 1);
	CU_ASSERT_EQUAL(header_count(&r, "ETag"), 1);
	CU_ASSERT_EQUAL(header_count(&r, "Last-Modified"), 1);
	CU_ASSERT_EQUAL(header_count(&r, "Content-Type"), 1);
	/* The file's location stays private. */
	CU_ASSERT_EQUAL(header_count(&r, "X-Sendfile"), 0);
	itest_resp_free(&r);
}

static void test_head_answers_headers_without_body(void)
{
	char rel[1024], v[256];
	struct itest_resp r;

	link_of(m_tone.id, rel, sizeof(rel));
	CU_ASSERT_FATAL(fetch("HEAD", rel, "Origin: " PLAYER_ORIGIN, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(r.body_len, 0);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Length", v, sizeof(v)) && strtoull(v, NULL, 10) == tone_len);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Type", v, sizeof(v)) && strcmp(v, m_tone.mime) == 0);
	CU_ASSERT_TRUE(itest_header(&r, "Accept-Ranges", v, sizeof(v)) && strcmp(v, "bytes") == 0);
	CU_ASSERT_TRUE(itest_header(&r, "ETag", v, sizeof(v)));
	CU_ASSERT_TRUE(itest_header(&r, "Last-Modified", v, sizeof(v)));
	CU_ASSERT_TRUE(itest_header(&r, "Access-Control-Allow-Origin", v, sizeof(v)) &&
	               (strcmp(v, "*") == 0 || strcmp(v, PLAYER_ORIGIN) == 0));
	itest_resp_free(&r);
}

static void test_missing_or_malformed_link_parameters_are_403(void)
{
	char rel[1024], e[32], g[128], paths[8][1200];
	struct itest_resp r;
	long long id = m_tone.id;

	link_of(id, rel, sizeof(rel));
	CU_ASSERT_FATAL(itest_query_param(rel, "expires", e, sizeof(e)) &&
	                itest_query_param(rel, "sig", g, sizeof(g)));
	snprintf(paths[0], sizeof(paths[0]), "/media/%lld/stream", id);
	snprintf(paths[1], sizeof(paths[1]), "/media/%lld/stream?expires=%s", id, e);
	snprintf(paths[2], sizeof(paths[2]), "/media/%lld/stream?sig=%s", id, g);
	snprintf(paths[3], sizeof(paths[3]), "/media/%lld/stream?expires=%s&sig=", id, e);
	snprintf(paths[4], sizeof(paths[4]), "/media/%lld/stream?expires=%s&sig=%sAA", id, e, g);
	snprintf(paths[5], sizeof(paths[5]), "/media/%lld/stream?expires=abc&sig=%s", id, g);
	snprintf(paths[6], sizeof(paths[6]), "/media/%lld/stream?expires=-%s&sig=%s", id, e, g);
	/* "+" and "/" are base64, not base64url. */
	snprintf(paths[7], sizeof(paths[7]), "/media/%lld/stream?expires=%s&sig=%%2B%%2F%.41s", id, e, g + 2);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		CU_ASSERT_FATAL(fetch("GET", paths[i], NULL, &r) == 0);
		if (r.status != 403)
			fprintf(stderr, "\n  GET %s -> %ld (want 403)\n", paths[i], r.status);
		itest_assert_error(&r, 403, "forbidden");
		itest_resp_free(&r);
	}
}

static void test_tampered_signature_is_403(void)
{
	char rel[1024], *sig;
	struct itest_resp r;

	link_of(m_tone.id, rel, sizeof(rel));
	sig = strstr(rel, "sig=");
	CU_ASSERT_FATAL(sig != NULL && strlen(sig + 4) >= 20);
	/* A middle character: every bit of it is MAC, none is padding. */
	sig[4 + 10] = sig[4 + 10] == 'A' ? 'B' : 'A';
	CU_ASSERT_FATAL(fetch("GET", rel, NULL, &r) == 0);
	itest_assert_error(&r, 403, "forbidden");
	itest_resp_free(&r);
}

static void test_changed_expiry_is_403(void)
{
	char rel[1024], exp_s[32], sig[128], path[1200];
	struct itest_resp r;

	link_of(m_tone.id, rel, sizeof(rel));
	CU_ASSERT_FATAL(itest_query_param(rel, "expires", exp_s, sizeof(exp_s)) &&
	                itest_query_param(rel, "sig", sig, sizeof(sig)));
	/* Stretching the lifetime of a real link must not work. */
	snprintf(path, sizeof(path), "/media/%lld/stream?expires=%lld&sig=%s", m_tone.id,
	         strtoll(exp_s, NULL, 10) + 86400, sig);
	CU_ASSERT_FATAL(fetch("GET", path, NULL, &r) == 0);
	itest_assert_error(&r, 403, "forbidden");
	itest_resp_free(&r);
}

static void test_link_of_another_media_is_403(void)
{
	char rel[1024], exp_s[32], sig[128], path[1200];
	struct itest_resp r;

	link_of(m_other.id, rel, sizeof(rel));
	CU_ASSERT_FATAL(itest_query_param(rel, "expires", exp_s, sizeof(exp_s)) &&
	                itest_query_param(rel, "sig", sig, sizeof(sig)));
	snprintf(path, sizeof(path), "/media/%lld/stream?expires=%s&sig=%s", m_tone.id, exp_s, sig);
	CU_ASSERT_FATAL(fetch("GET", path, NULL, &r) == 0);
	itest_assert_error(&r, 403, "forbidden");
	itest_resp_free(&r);
}

static void test_expired_signed_link_is_410(void)
{
	char sig[SIGNLINK_SIG_SIZE], path[256];
	struct itest_resp r;
	long long now = (long long)time(NULL);

	/* First our own signing must be accepted, so the 410 below cannot be a 403 in disguise. */
	CU_ASSERT_FATAL(signlink_sign(link_key, m_tone.id, now + 300, sig, sizeof(sig)) == 0);
	snprintf(path, sizeof(path), "/media/%lld/stream?expires=%lld&sig=%s", m_tone.id, now + 300, sig);
	CU_ASSERT_FATAL(fetch("HEAD", path, NULL, &r) == 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 200);
	itest_resp_free(&r);

	CU_ASSERT_FATAL(signlink_sign(link_key, m_tone.id, now - 3600, sig, sizeof(sig)) == 0);
	snprintf(path, sizeof(path), "/media/%lld/stream?expires=%lld&sig=%s", m_tone.id, now - 3600, sig);
	CU_ASSERT_FATAL(fetch("GET", path, NULL, &r) == 0);
	itest_assert_error(&r, 410, "gone");
	itest_resp_free(&r);
}

static void test_range_first_to_last_is_206_with_those_bytes(void)
{
	assert_range("bytes=100-1123", 100, 1123);
}

static void test_range_across_a_64k_chunk_boundary(void)
{
	CU_ASSERT_FATAL(tone_len > DIRECT_CHUNK + 100);
	assert_range("bytes=65500-65600", DIRECT_CHUNK - 36, DIRECT_CHUNK + 64);
}

static void test_range_open_ended_is_206_to_the_end(void)
{
	char range[64];

	snprintf(range, sizeof(range), "bytes=%zu-", tone_len - 1000);
	assert_range(range, tone_len - 1000, tone_len - 1);
}

static void test_range_suffix_is_206_with_the_last_bytes(void)
{
	assert_range("bytes=-500", tone_len - 500, tone_len - 1);
}

static void test_range_end_past_the_file_is_clipped(void)
{
	char range[64];

	snprintf(range, sizeof(range), "bytes=%zu-%zu", tone_len - 10, tone_len + 5000);
	assert_range(range, tone_len - 10, tone_len - 1);
}

static void test_range_starting_at_or_past_the_end_is_416(void)
{
	char rel[1024], h[64];
	struct itest_resp r;
	size_t starts[] = { tone_len, tone_len + 1000 };

	link_of(m_tone.id, rel, sizeof(rel));
	for (size_t i = 0; i < 2; i++) {
		snprintf(h, sizeof(h), "Range: bytes=%zu-", starts[i]);
		CU_ASSERT_FATAL(fetch("GET", rel, h, &r) == 0);
		CU_ASSERT_EQUAL(r.status, 416);
		itest_resp_free(&r);
	}
}

static void test_multi_range_gets_the_whole_file(void)
{
	char rel[1024], ct[128];
	struct itest_resp r;

	link_of(m_tone.id, rel, sizeof(rel));
	CU_ASSERT_FATAL(fetch("GET", rel, "Range: bytes=0-9,1000-1099", &r) == 0);
	if (r.status != 200)
		fprintf(stderr, "\n  multi-range: %ld, Content-Type %s\n", r.status,
		        itest_header(&r, "Content-Type", ct, sizeof(ct)) ? ct : "(none)");
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(r.body_len, tone_len);
	CU_ASSERT_TRUE(r.body_len == tone_len && memcmp(r.body, tone, tone_len) == 0);
	CU_ASSERT_TRUE(itest_header(&r, "Content-Type", ct, sizeof(ct)) && strcmp(ct, m_tone.mime) == 0);
	itest_resp_free(&r);
}

/*
 * The same for a file smaller than one direct-mode chunk, many times: when the web server has the
 * whole answer before it starts sending, it must still not cut multipart ranges out of it.
 */
static void test_multi_range_on_a_small_file_gets_the_whole_file_every_time(void)
{
	char small[300], rel[1024];
	unsigned char *bytes;
	size_t len = 0;
	struct media m;
	int whole = 0, tries = 20;
	long last = 0;

	fixture(small, sizeof(small), "small.wav");
	bytes = itest_slurp(small, &len);
	CU_ASSERT_FATAL(bytes != NULL && len < DIRECT_CHUNK);
	CU_ASSERT_FATAL(upload(tok_a, small, &m) == 201);
	link_of(m.id, rel, sizeof(rel));
	for (int i = 0; i < tries; i++) {
		struct itest_resp r;

		CU_ASSERT_FATAL(fetch("GET", rel, "Range: bytes=0-9,1000-1099", &r) == 0);
		if (r.status == 200 && r.body_len == len && memcmp(r.body, bytes, len) == 0)
			whole++;
		else
			last = r.status;
		itest_resp_free(&r);
	}
	if (whole != tries)
		fprintf(stderr, "\n  multi-range on %zu bytes: %d of %d whole, else %ld\n", len, whole, tries,
		        last);
	CU_ASSERT_EQUAL(whole, tries);
	free(bytes);
	itest_delete_media(tok_a, m.id);
}

static void test_if_none_match_with_the_etag_is_304(void)
{
	char rel[1024], etag[256], h[300];
	struct itest_resp r;

	link_of(m_tone.id, rel, sizeof(rel));
	CU_ASSERT_FATAL(fetch("HEAD", rel, NULL, &r) == 0);
	CU_ASSERT_FATAL(itest_header(&r, "ETag", etag, sizeof(etag)));
	itest_resp_free(&r);
	snprintf(h, sizeof(h), "If-None-Match: %s", etag);
	CU_ASSERT_FATAL(fetch("GET", rel, h, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 304);
	CU_ASSERT_EQUAL(r.body_len, 0);
	itest_resp_free(&r);
	/* Another tag is a miss: the whole file again. */
	CU_ASSERT_FATAL(fetch("GET", rel, "If-None-Match: \"not-this-one\"", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(r.body_len, tone_len);
	itest_resp_free(&r);
}

static void test_if_modified_since_last_modified_is_304(void)
{
	char rel[1024], lm[256], h[300];
	struct itest_resp r;

	link_of(m_tone.id, rel, sizeof(rel));
	CU_ASSERT_FATAL(fetch("HEAD", rel, NULL, &r) == 0);
	CU_ASSERT_FATAL(itest_header(&r, "Last-Modified", lm, sizeof(lm)));
	itest_resp_free(&r);
	snprintf(h, sizeof(h), "If-Modified-Since: %s", lm);
	CU_ASSERT_FATAL(fetch("GET", rel, h, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 304);
	CU_ASSERT_EQUAL(r.body_len, 0);
	itest_resp_free(&r);
	/* A date before the file's is a miss. */
	CU_ASSERT_FATAL(fetch("GET", rel, "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(r.body_len, tone_len);
	itest_resp_free(&r);
}

/* For web_server_holds: a process of the web server's group that is not a responder. */
struct web_match {
	pid_t leader;
	pid_t responders[256];
	int n;
};

static bool web_process(const struct itest_proc *p, void *ud)
{
	const struct web_match *w = ud;

	if (getpgid(p->pid) != w->leader)
		return false;
	for (int i = 0; i < w->n; i++)
		if (w->responders[i] == p->pid)
			return false;
	return true;
}

/*
 * Whether the web server holds a media file: a process of the group MEDIAD_WEB_PID leads (the
 * harness starts lighttpd, or Apache's parent, as a group leader; Apache's children, which send
 * X-Sendfile files, are in it), mediad responders left out. Without MEDIAD_WEB_PID: the parent of
 * a responder, which is lighttpd when lighttpd spawned it.
 */
static bool web_server_holds(pid_t responder)
{
	const char *s = getenv("MEDIAD_WEB_PID");
	struct web_match w = { s != NULL ? (pid_t)strtol(s, NULL, 10) : 0, { 0 }, 0 };
	pid_t pids[256];
	int n;

	if (w.leader <= 0) {
		struct itest_proc p;
		return itest_proc_read(responder, &p) && p.ppid > 0 && holds_media_file(p.ppid);
	}
	w.n = mediad_pids(w.responders, 256);
	n = itest_proc_scan(web_process, &w, pids, 256);
	for (int i = 0; i < n; i++)
		if (holds_media_file(pids[i]))
			return true;
	return false;
}

/*
 * Direct mode: the responder holds the file while it sends, and an aborted download must not leave
 * it open. x-sendfile mode: the web server holds it, mediad never opens it.
 */
static void test_aborted_download_leaves_no_descriptor_in_mediad(void)
{
	char big[300], rel[1024];
	struct media m;
	pid_t holder = 0;
	int seen = 0, fd, waited;

	CU_ASSERT_FATAL(getenv("abs_top_builddir") != NULL);
	fixture(big, sizeof(big), "big.wav");
	CU_ASSERT_FATAL(upload(tok_a, big, &m) == 201);
	link_of(m.id, rel, sizeof(rel));
	fd = stalled_download(rel, 64 * 1024);
	CU_ASSERT_FATAL(fd >= 0);
	(void)mediad_holder(&seen);
	CU_ASSERT_FATAL(seen > 0);

	if (direct_mode) {
		/* Mid-download: a responder must be blocked on us with the file open, or this test
		 * would prove nothing. */
		for (waited = 0; waited < WAIT_MS && holder == 0; waited += 100) {
			holder = mediad_holder(NULL);
			if (holder == 0)
				itest_sleep_ms(100);
		}
		CU_ASSERT_FATAL(holder != 0);
	} else {
		pid_t pids[256];
		int n = mediad_pids(pids, 256);
		bool web_holds = false;

		CU_ASSERT_FATAL(n > 0);
		for (waited = 0; waited < WAIT_MS && !web_holds; waited += 100) {
			web_holds = web_server_holds(pids[0]);
			if (!web_holds)
				itest_sleep_ms(100);
		}
		/* The web server is the one sending the file... */
		CU_ASSERT_TRUE(web_holds);
		/* ...and no responder has it open while it does. */
		CU_ASSERT_EQUAL(mediad_holder(NULL), 0);
	}

	abort_connection(fd);
	/* The responder notices on its next write; poll until no responder has the file. */
	for (waited = 0; waited < WAIT_MS; waited += 100) {
		if (mediad_holder(NULL) == 0)
			break;
		itest_sleep_ms(100);
	}
	CU_ASSERT_EQUAL(mediad_holder(NULL), 0);
	/* The responder that was sending survived the broken pipe (it was not killed by SIGPIPE). */
	if (holder != 0)
		CU_ASSERT_EQUAL(kill(holder, 0), 0);
	CU_ASSERT_TRUE(itest_wait_status("/healthz", 200, 5000));
	itest_delete_media(tok_a, m.id);
}

/* Stream links carry their signature in the query string: no log of ours or of the web server
 * (Apache's access log as the samples and the harness set it) may keep it. Runs after every
 * stream request above. */
static void test_no_log_holds_a_stream_signature(void)
{
	static const char *const logs[] = { "apache-access.log", "mediad.log", "lighttpd-error.log",
		                            "apache-error.log", "stream-wire.log" };
	const char *tdir = getenv("MEDIAD_TEST_DIR");
	int seen = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tdir);
	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		char path[1024], *text;
		FILE *f;
		long n;

		snprintf(path, sizeof(path), "%s/log/%s", tdir, logs[i]);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		seen++;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		text = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		CU_ASSERT_EQUAL(fread(text, 1, (size_t)(n > 0 ? n : 0), f), (size_t)(n > 0 ? n : 0));
		fclose(f);
		if (strstr(text, "sig=") != NULL)
			fprintf(stderr, "  %s holds a stream signature\n", logs[i]);
		CU_ASSERT_PTR_NULL(strstr(text, "sig="));
		free(text);
	}
	CU_ASSERT(seen > 0);
}

/* ---- direct mode on the wire: a responder of our own, spoken to in FastCGI ---------------------
 *
 * What the web server gets from a direct-mode responder, checked on the socket itself: valid
 * records in large pieces, the file byte for byte, and at most one record waiting in the socket
 * (lighttpd 1.4 writes a record to a temp file when it reads one while its client still has the one
 * before: see FCGI_FILE_SNDBUF in fcgi_io.c). Whatever the run's web server and stream mode: a
 * `mediad --listen` pool of one worker with STREAM_MODE=direct, started by these tests.
 */

#define FCGI_BEGIN_REQUEST 1
#define FCGI_END_REQUEST 3
#define FCGI_PARAMS 4
#define FCGI_STDIN 5
#define FCGI_STDOUT 6
/* The largest record content mediad writes (fcgi_io.c, FCGI_RECORD_MAX): ranges are checked across
 * the boundaries of the records, which count from the first byte sent. */
#define WIRE_RECORD 65528
/* No answer of these tests is larger (big.wav is 13 MB). */
#define WIRE_BODY_MAX (32u << 20)

extern char **environ;

static char wire_sock[108];
static pid_t wire_master = -1;
static struct media m_big;       /* big.wav, uploaded for these tests */
static unsigned char *big_bytes; /* its bytes */
static size_t big_len;

/* One answer as it came off the socket. */
struct wire_resp {
	char head[4096];     /* the CGI headers, up to the blank line */
	bool head_done;      /* the blank line came */
	unsigned char *body; /* what followed it (malloc'd) */
	size_t body_len;
	size_t stdout_records; /* STDOUT records with content */
	size_t max_record;     /* the largest record content */
	bool malformed;        /* a record of another version, request, or type, or bad END_REQUEST */
	bool ended;            /* END_REQUEST came, with FCGI_REQUEST_COMPLETE */
};

static void wire_resp_free(struct wire_resp *w)
{
	free(w->body);
	memset(w, 0, sizeof(*w));
}

/* Reads exactly n bytes from fd, waiting at most WAIT_MS for each piece. Returns 0, or -1 on end of
 * stream, error or time out. */
static int wire_read_full(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&pf, 1, WAIT_MS) <= 0)
			return -1;
		r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Sends method for media id (a fresh signed link) with an optional Range value. Returns the
 * connection or -1. */
static int wire_request(const char *method, long long id, const char *range)
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 }; /* RESPONDER, no keep-conn */
	unsigned char params[1024];
	char sig[SIGNLINK_SIG_SIZE], uri[256], path[64];
	long long expires = (long long)time(NULL) + 300;
	struct sockaddr_un sa;
	size_t n = 0;
	int fd;

	if (signlink_sign(link_key, id, expires, sig, sizeof(sig)) != 0)
		return -1;
	snprintf(path, sizeof(path), "/media/%lld/stream", id);
	snprintf(uri, sizeof(uri), "%s?expires=%lld&sig=%s", path, expires, sig);
	n += itest_fcgi_pair(params + n, "REQUEST_METHOD", method);
	n += itest_fcgi_pair(params + n, "REQUEST_URI", uri);
	n += itest_fcgi_pair(params + n, "SCRIPT_NAME", path);
	n += itest_fcgi_pair(params + n, "QUERY_STRING", strchr(uri, '?') + 1);
	n += itest_fcgi_pair(params + n, "REMOTE_ADDR", "127.0.0.1");
	if (range != NULL)
		n += itest_fcgi_pair(params + n, "HTTP_RANGE", range);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", wire_sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    itest_fcgi_put(fd, FCGI_BEGIN_REQUEST, begin, 8) != 0 ||
	    itest_fcgi_put(fd, FCGI_PARAMS, params, n) != 0 ||
	    itest_fcgi_put(fd, FCGI_PARAMS, NULL, 0) != 0 || itest_fcgi_put(fd, FCGI_STDIN, NULL, 0) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The STDOUT content c[0..n) into w: the headers up to the blank line, then the body. */
static int wire_take(struct wire_resp *w, const unsigned char *c, size_t n)
{
	while (n > 0 && !w->head_done) {
		size_t hl = strlen(w->head);

		if (hl + 1 >= sizeof(w->head))
			return -1;
		w->head[hl] = (char)*c++;
		w->head[hl + 1] = '\0';
		n--;
		w->head_done = hl + 1 >= 4 && memcmp(w->head + hl - 3, "\r\n\r\n", 4) == 0;
	}
	if (n == 0)
		return 0;
	if (w->body_len + n > WIRE_BODY_MAX)
		return -1;
	if (w->body == NULL)
		w->body = malloc(WIRE_BODY_MAX);
	if (w->body == NULL)
		return -1;
	memcpy(w->body + w->body_len, c, n);
	w->body_len += n;
	return 0;
}

/*
 * Reads records from fd into w until the headers are complete (until_head) or until END_REQUEST,
 * checking each: version 1, request 1, STDOUT or END_REQUEST only, END_REQUEST with
 * FCGI_REQUEST_COMPLETE. Returns 0, or -1 when the connection ended or stalled first.
 */
static int wire_read(int fd, struct wire_resp *w, bool until_head)
{
	static unsigned char c[65536 + 256];

	while (!w->ended && !(until_head && w->head_done)) {
		unsigned char h[8];
		size_t len, pad;

		if (wire_read_full(fd, h, 8) != 0)
			return -1;
		len = (size_t)h[4] << 8 | h[5];
		pad = h[6];
		if (wire_read_full(fd, c, len + pad) != 0)
			return -1;
		if (h[0] != 1 || h[2] != 0 || h[3] != 1)
			w->malformed = true;
		if (h[1] == FCGI_STDOUT && len > 0) {
			w->stdout_records++;
			if (len > w->max_record)
				w->max_record = len;
			if (wire_take(w, c, len) != 0)
				return -1;
		} else if (h[1] == FCGI_END_REQUEST) {
			w->ended = true;
			if (len != 8 || c[4] != 0)
				w->malformed = true;
		} else if (h[1] != FCGI_STDOUT) {
			w->malformed = true; /* STDERR, or a type a responder does not send */
		}
	}
	return 0;
}

/* Whether the peer closed fd (nothing follows END_REQUEST), within WAIT_MS. */
static bool wire_closed(int fd)
{
	struct pollfd pf = { fd, POLLIN, 0 };
	char b;

	return poll(&pf, 1, WAIT_MS) == 1 && read(fd, &b, 1) == 0;
}

/* A whole answer of method [range] on media id into w; the connection must end after it. */
static int wire_fetch(const char *method, long long id, const char *range, struct wire_resp *w)
{
	int fd = wire_request(method, id, range), rc;

	memset(w, 0, sizeof(*w));
	if (fd < 0)
		return -1;
	rc = wire_read(fd, w, false);
	if (rc == 0 && !wire_closed(fd))
		rc = -1;
	close(fd);
	return rc;
}

/* The value of CGI header name in w (exact name), or "". */
static const char *wire_header(const struct wire_resp *w, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	const char *p = w->head;

	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(out, n, "%.*s", (int)(e != NULL ? e - v : (long)strlen(v)), v);
			break;
		}
		p = strstr(p, "\r\n");
		p = p != NULL ? p + 2 : NULL;
	}
	return out;
}

static bool is_child_of(const struct itest_proc *p, void *ud)
{
	return p->ppid == *(const pid_t *)ud;
}

/* The pool's worker: the one child of wire_master (0 while there is none). */
static pid_t wire_worker(void)
{
	pid_t kids[4];

	return wire_master > 0 && itest_proc_scan(is_child_of, &wire_master, kids, 4) == 1 ? kids[0] : 0;
}

/* VmRSS of pid in KiB, -1 when unknown. */
static long vm_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void wire_stop(void)
{
	if (wire_master > 0) {
		kill(wire_master, SIGTERM);
		for (int i = 0; i < WAIT_MS / 50 && waitpid(wire_master, NULL, WNOHANG) == 0; i++)
			itest_sleep_ms(50);
		if (kill(wire_master, 0) == 0) {
			kill(wire_master, SIGKILL);
			waitpid(wire_master, NULL, 0);
		}
		wire_master = -1;
	}
	if (wire_sock[0] != '\0')
		unlink(wire_sock);
}

static void test_wire_responder_of_our_own_answers(void)
{
	const char *bdir = getenv("abs_top_builddir"), *tdir = getenv("MEDIAD_TEST_DIR");
	char bin[PATH_MAX], listen[160], bigwav[300], logf[PATH_MAX];
	const char *argv[] = { bin, "--listen", listen, "--workers", "1", NULL };
	posix_spawn_file_actions_t fa;
	char **env = NULL;
	size_t n = 0;
	bool up = false;
	int rc;

	CU_ASSERT_FATAL(bdir != NULL && tdir != NULL);
	fixture(bigwav, sizeof(bigwav), "big.wav");
	big_bytes = itest_slurp(bigwav, &big_len);
	CU_ASSERT_FATAL(big_bytes != NULL && big_len > 4 * WIRE_RECORD);
	CU_ASSERT_FATAL(upload(tok_a, bigwav, &m_big) == 201);
	CU_ASSERT_EQUAL_FATAL(m_big.size, (long long)big_len);

	/* The run's environment (MEDIAD_CONFIG...) and the stream mode these tests are about: an
	 * environment variable overrides its setting in the file. */
	while (environ[n] != NULL)
		n++;
	env = calloc(n + 2, sizeof(*env));
	CU_ASSERT_PTR_NOT_NULL_FATAL(env);
	memcpy(env, environ, n * sizeof(*env));
	env[n] = (char *)(uintptr_t) "STREAM_MODE=direct";
	snprintf(bin, sizeof(bin), "%s/mediad", bdir);
	snprintf(wire_sock, sizeof(wire_sock), "%s/stream-wire.sock", tdir);
	snprintf(listen, sizeof(listen), "unix:%s", wire_sock);
	/* Its request log beside the others (no log may hold a link's signature: checked below). */
	snprintf(logf, sizeof(logf), "%s/log/stream-wire.log", tdir);
	CU_ASSERT_FATAL(posix_spawn_file_actions_init(&fa) == 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	rc = posix_spawn(&wire_master, bin, &fa, NULL, (char *const *)(uintptr_t)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	CU_ASSERT_FATAL(rc == 0);
	/* Ready when it answers, polled. */
	for (int waited = 0; waited < WAIT_MS && !up; waited += 100) {
		struct wire_resp w;

		up = wire_fetch("HEAD", m_big.id, NULL, &w) == 0 && strncmp(w.head, "Status: 200", 11) == 0;
		wire_resp_free(&w);
		if (!up)
			itest_sleep_ms(100);
	}
	CU_ASSERT_FATAL(up);
}

static void test_wire_download_is_valid_fastcgi_in_large_records(void)
{
	struct wire_resp w;
	char cl[32];

	CU_ASSERT_FATAL(wire_fetch("GET", m_big.id, NULL, &w) == 0);
	CU_ASSERT_FALSE(w.malformed);
	CU_ASSERT_TRUE(w.ended);
	CU_ASSERT_EQUAL(strncmp(w.head, "Status: 200", 11), 0);
	CU_ASSERT_EQUAL(strtoull(wire_header(&w, "Content-Length", cl, sizeof(cl)), NULL, 10), big_len);
	CU_ASSERT_EQUAL(w.body_len, big_len);
	CU_ASSERT_TRUE(w.body_len == big_len && memcmp(w.body, big_bytes, big_len) == 0);
	/* The headers' record, then whole records of WIRE_RECORD bytes and the rest: nothing cut
	 * smaller (libfcgi's own writer makes 8 KiB records, twelve thousand for 100 MiB). */
	CU_ASSERT_EQUAL(w.max_record, WIRE_RECORD);
	if (w.stdout_records > 1 + (big_len + WIRE_RECORD - 1) / WIRE_RECORD)
		fprintf(stderr, "\n  %zu STDOUT records for %zu bytes\n", w.stdout_records, big_len);
	CU_ASSERT(w.stdout_records <= 1 + (big_len + WIRE_RECORD - 1) / WIRE_RECORD);
	wire_resp_free(&w);
}

/*
 * A web server that stops reading (its client is slow) finds at most one record waiting in the
 * socket, not several: one read cannot bring it a second record while it still holds the first.
 * (With the socket's default buffer, 208 KiB, three records waited.) Then the rest comes, byte for
 * byte.
 */
static void test_wire_at_most_one_record_waits_in_the_socket(void)
{
	struct wire_resp w;
	int fd = wire_request("GET", m_big.id, NULL), queued = -1, last = -2, same = 0;

	memset(&w, 0, sizeof(w));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(wire_read(fd, &w, true) == 0);
	/* The responder writes until the socket is full, then waits for us: poll until the queue
	 * has stopped growing for half a second. */
	for (int waited = 0; waited < WAIT_MS && same < 10; waited += 50) {
		itest_sleep_ms(50);
		if (ioctl(fd, FIONREAD, &queued) != 0)
			break;
		same = queued == last ? same + 1 : 0;
		last = queued;
	}
	CU_ASSERT_TRUE(same >= 10);
	if (queued > WIRE_RECORD + 8)
		fprintf(stderr, "\n  %d bytes wait in the socket\n", queued);
	CU_ASSERT_TRUE(queued > 0 && queued <= WIRE_RECORD + 8);
	CU_ASSERT_EQUAL(wire_read(fd, &w, false), 0);
	CU_ASSERT_TRUE(wire_closed(fd));
	close(fd);
	CU_ASSERT_FALSE(w.malformed);
	CU_ASSERT_TRUE(w.ended);
	CU_ASSERT_TRUE(w.body_len == big_len && memcmp(w.body, big_bytes, big_len) == 0);
	wire_resp_free(&w);
}

static void test_wire_ranges_across_record_boundaries(void)
{
	/* Records count from the range's first byte: these end, start or cross one, at the start of
	 * the file and in its middle, and run to its end. */
	const size_t r = WIRE_RECORD, mid = 3 * WIRE_RECORD + 1000;
	const size_t ranges[][2] = {
		{ 0, r - 1 },
		{ 0, r },
		{ 0, r + 1 },
		{ r - 1, r },
		{ r, 2 * r - 1 },
		{ 1, 2 * r + 1 },
		{ mid, mid + r - 1 },
		{ mid, mid + 2 * r },
		{ mid + 5, mid + 5 },
		{ big_len - r - 1, big_len - 1 },
		{ big_len - 1, big_len - 1 },
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		size_t a = ranges[i][0], b = ranges[i][1];
		char h[64], want[96], cr[96], cl[32];
		struct wire_resp w;

		snprintf(h, sizeof(h), "bytes=%zu-%zu", a, b);
		CU_ASSERT_FATAL(wire_fetch("GET", m_big.id, h, &w) == 0);
		snprintf(want, sizeof(want), "bytes %zu-%zu/%zu", a, b, big_len);
		CU_ASSERT_FALSE(w.malformed);
		CU_ASSERT_TRUE(w.ended);
		CU_ASSERT_EQUAL(strncmp(w.head, "Status: 206", 11), 0);
		CU_ASSERT_STRING_EQUAL(wire_header(&w, "Content-Range", cr, sizeof(cr)), want);
		CU_ASSERT_EQUAL(strtoull(wire_header(&w, "Content-Length", cl, sizeof(cl)), NULL, 10),
		                b - a + 1);
		if (w.body_len != b - a + 1 || memcmp(w.body, big_bytes + a, b - a + 1) != 0)
			fprintf(stderr, "\n  %s: %zu bytes, not those of the file\n", h, w.body_len);
		CU_ASSERT_TRUE(w.body_len == b - a + 1 && memcmp(w.body, big_bytes + a, b - a + 1) == 0);
		wire_resp_free(&w);
	}
}

static void test_wire_head_has_the_length_and_no_body(void)
{
	struct wire_resp w;
	char cl[32];

	CU_ASSERT_FATAL(wire_fetch("HEAD", m_big.id, NULL, &w) == 0);
	CU_ASSERT_FALSE(w.malformed);
	CU_ASSERT_TRUE(w.ended);
	CU_ASSERT_EQUAL(strncmp(w.head, "Status: 200", 11), 0);
	CU_ASSERT_EQUAL(strtoull(wire_header(&w, "Content-Length", cl, sizeof(cl)), NULL, 10), big_len);
	CU_ASSERT_EQUAL(w.body_len, 0);
	wire_resp_free(&w);
}

/* The web server hangs up mid-file (its client went away): the worker stops sending, closes the
 * file, lives on and answers the next request. */
static void test_wire_hang_up_mid_file_leaves_the_worker_serving(void)
{
	pid_t worker = wire_worker();
	struct wire_resp w;
	unsigned char some[65536];
	int fd = wire_request("GET", m_big.id, NULL), waited;

	memset(&w, 0, sizeof(w));
	CU_ASSERT_FATAL(worker > 0 && fd >= 0);
	CU_ASSERT_FATAL(wire_read(fd, &w, true) == 0);
	CU_ASSERT_FATAL(wire_read_full(fd, some, sizeof(some)) == 0);
	wire_resp_free(&w);
	/* Mid-file: it holds the file, blocked on us. */
	CU_ASSERT_TRUE(holds_media_file(worker));
	abort_connection(fd);
	for (waited = 0; waited < WAIT_MS && holds_media_file(worker); waited += 50)
		itest_sleep_ms(50);
	CU_ASSERT_FALSE(holds_media_file(worker));
	CU_ASSERT_EQUAL(wire_worker(), worker);
	CU_ASSERT_FATAL(wire_fetch("HEAD", m_big.id, NULL, &w) == 0);
	CU_ASSERT_EQUAL(strncmp(w.head, "Status: 200", 11), 0);
	CU_ASSERT_EQUAL(wire_worker(), worker);
	wire_resp_free(&w);
}

/* The file never passes through the worker's memory: a second 13 MB download leaves its resident
 * size where the first left it (the first may still touch code and buffers for the first time). */
static void test_wire_worker_memory_does_not_grow_with_the_file(void)
{
	pid_t worker = wire_worker();
	struct wire_resp w;
	long before, after;

	CU_ASSERT_FATAL(worker > 0);
	CU_ASSERT_FATAL(wire_fetch("GET", m_big.id, NULL, &w) == 0);
	wire_resp_free(&w);
	before = vm_rss_kib(worker);
	CU_ASSERT_FATAL(wire_fetch("GET", m_big.id, NULL, &w) == 0);
	CU_ASSERT_EQUAL(w.body_len, big_len);
	wire_resp_free(&w);
	after = vm_rss_kib(worker);
	CU_ASSERT_FATAL(before > 0 && after > 0);
	if (after - before >= 1024)
		fprintf(stderr, "\n  worker VmRSS %ld -> %ld KiB\n", before, after);
	CU_ASSERT(after - before < 1024);
}

static void test_wire_teardown(void)
{
	wire_stop();
	if (m_big.id > 0)
		itest_delete_media(tok_a, m_big.id);
}

static void test_teardown_media(void)
{
	itest_delete_media(tok_a, m_tone.id);
	itest_delete_media(tok_a, m_other.id);
}

/* ---- suite -------------------------------------------------------------------------------------- */

static int suite_init(void)
{
	char wav[300], big[300], small[300];
	const char *mode = getenv("MEDIAD_STREAM_MODE");
	const char *root = getenv("MEDIA_ROOT"), *builddir = getenv("abs_top_builddir");

	if (sodium_init() < 0 || read_link_key() != 0 || root == NULL)
		return -1;
	direct_mode = mode != NULL && strcmp(mode, "direct") == 0;
	if (mode != NULL && !direct_mode && strcmp(mode, "x-sendfile") != 0) {
		fprintf(stderr, "test_stream: MEDIAD_STREAM_MODE must be direct or x-sendfile\n");
		return -1;
	}
	if (realpath(root, media_root_real) == NULL)
		return -1;
	/* The program the responders run: the harness says (it may run a copy), else the build's. */
	if (getenv("HARNESS_MEDIAD") != NULL) {
		if (realpath(getenv("HARNESS_MEDIAD"), mediad_real) == NULL)
			mediad_real[0] = '\0';
	} else if (builddir != NULL) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/mediad", builddir);
		if (realpath(p, mediad_real) == NULL)
			mediad_real[0] = '\0';
	}
	snprintf(dir, sizeof(dir), "/tmp/mediad-stream-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	fixture(wav, sizeof(wav), "tone.wav");
	fixture(big, sizeof(big), "big.wav");
	fixture(small, sizeof(small), "small.wav");
	{
		/* 1 s of 44.1 kHz mono s16: 88 KB, more than one 64 KiB direct-mode chunk. */
		const char *a[] = {
			"ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
			"-ac",    "1",        wav,  NULL
		};
		/* 150 s: 13 MB, under the harness's 16 MiB upload cap and far more than the socket
		 * buffers between mediad and the client hold, so an aborted download is cut mid-file. */
		const char *b[] = {
			"ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=150",
			"-ac",    "1",        big,  NULL
		};
		/* 0.3 s: 26 KB, less than one chunk. */
		const char *c[] = {
			"ffmpeg", "-nostdin", "-y",  "-f", "lavfi", "-i", "sine=frequency=440:duration=0.3",
			"-ac",    "1",        small, NULL
		};
		if (itest_run(a) != 0 || itest_run(b) != 0 || itest_run(c) != 0)
			return -1;
	}
	tone = itest_slurp(wav, &tone_len);
	return tone != NULL ? 0 : -1;
}

static int suite_clean(void)
{
	const char *names[] = { "tone.wav", "big.wav", "small.wav", NULL };
	char p[300];

	for (int i = 0; names[i]; i++) {
		fixture(p, sizeof(p), names[i]);
		unlink(p);
	}
	if (dir[0] != '\0')
		rmdir(dir);
	free(tone);
	wire_stop();
	free(big_bytes);
	return 0;
}

int main(void)
{
	CU_pSuite s;

	/* A test that aborts a download must not die of the server's side of it. */
	signal(SIGPIPE, SIG_IGN);
	if (itest_init() != 0)
		return 1;
	s = CU_add_suite(getenv("MEDIAD_STREAM_MODE") && strcmp(getenv("MEDIAD_STREAM_MODE"), "direct") == 0 ?
	                         "stream (direct)" :
	                         "stream (x-sendfile)",
	                 suite_init, suite_clean);
	CU_add_test(s, "two users, and media uploaded by the first", test_setup_users_and_media);
	CU_add_test(s, "stream-url is a signed link under public_base_url",
	            test_stream_url_is_signed_link_under_public_base);
	CU_add_test(s, "stream-url of another user's media is 404",
	            test_stream_url_of_another_users_media_is_404);
	CU_add_test(s, "stream-url without a token is 401", test_stream_url_without_token_is_401);
	CU_add_test(s, "GET serves the file without Authorization",
	            test_get_serves_the_file_without_authorization);
	CU_add_test(s, "stream headers: cache, CORS, ranges, validators",
	            test_stream_headers_cache_cors_ranges_validators);
	CU_add_test(s, "HEAD answers the headers without a body", test_head_answers_headers_without_body);
	CU_add_test(s, "missing or malformed link parameters are 403",
	            test_missing_or_malformed_link_parameters_are_403);
	CU_add_test(s, "tampered signature is 403", test_tampered_signature_is_403);
	CU_add_test(s, "changed expiry is 403", test_changed_expiry_is_403);
	CU_add_test(s, "link of another media is 403", test_link_of_another_media_is_403);
	CU_add_test(s, "expired signed link is 410", test_expired_signed_link_is_410);
	CU_add_test(s, "Range a-b is 206 with those bytes", test_range_first_to_last_is_206_with_those_bytes);
	CU_add_test(s, "Range across a 64 KiB chunk boundary", test_range_across_a_64k_chunk_boundary);
	CU_add_test(s, "Range a- is 206 to the end", test_range_open_ended_is_206_to_the_end);
	CU_add_test(s, "Range -n is 206 with the last n bytes", test_range_suffix_is_206_with_the_last_bytes);
	CU_add_test(s, "Range end past the file is clipped", test_range_end_past_the_file_is_clipped);
	CU_add_test(s, "Range starting at or past the end is 416",
	            test_range_starting_at_or_past_the_end_is_416);
	CU_add_test(s, "multi-range gets the whole file", test_multi_range_gets_the_whole_file);
	CU_add_test(s, "multi-range on a small file gets the whole file, every time",
	            test_multi_range_on_a_small_file_gets_the_whole_file_every_time);
	CU_add_test(s, "If-None-Match with the ETag is 304", test_if_none_match_with_the_etag_is_304);
	CU_add_test(s, "If-Modified-Since the Last-Modified is 304",
	            test_if_modified_since_last_modified_is_304);
	CU_add_test(s, "aborted download leaves no descriptor in mediad",
	            test_aborted_download_leaves_no_descriptor_in_mediad);
	CU_add_test(s, "direct mode on the wire: a responder of our own answers",
	            test_wire_responder_of_our_own_answers);
	CU_add_test(s, "direct mode on the wire: a download is valid FastCGI, in large records",
	            test_wire_download_is_valid_fastcgi_in_large_records);
	CU_add_test(s, "direct mode on the wire: at most one record waits in the socket",
	            test_wire_at_most_one_record_waits_in_the_socket);
	CU_add_test(s, "direct mode on the wire: ranges across record boundaries",
	            test_wire_ranges_across_record_boundaries);
	CU_add_test(s, "direct mode on the wire: HEAD has the length and no body",
	            test_wire_head_has_the_length_and_no_body);
	CU_add_test(s, "direct mode on the wire: a hang-up mid-file leaves the worker serving",
	            test_wire_hang_up_mid_file_leaves_the_worker_serving);
	CU_add_test(s, "direct mode on the wire: the worker's memory does not grow with the file",
	            test_wire_worker_memory_does_not_grow_with_the_file);
	CU_add_test(s, "direct mode on the wire: the responder stops", test_wire_teardown);
	CU_add_test(s, "no log holds a stream signature", test_no_log_holds_a_stream_signature);
	CU_add_test(s, "the shared media are deleted", test_teardown_media);
	return itest_run_all();
}
