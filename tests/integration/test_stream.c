/* test_stream.c: signed stream links and GET/HEAD /media/:id/stream, in x-sendfile and direct mode. */
#include "config.h"

#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	struct stat st;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size > 0) {
		p = malloc((size_t)st.st_size);
		if (p != NULL && fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
			free(p);
			p = NULL;
		}
		*len = (size_t)st.st_size;
	}
	fclose(f);
	return p;
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

/* The value of query parameter name in rel ("...?a=1&b=2"), copied into out; false if absent. */
static bool query_param(const char *rel, const char *name, char *out, size_t n)
{
	const char *p = strchr(rel, '?');
	size_t nl = strlen(name);

	while (p != NULL) {
		p++;
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t len = strcspn(p + nl + 1, "&");
			snprintf(out, n, "%.*s", (int)len, p + nl + 1);
			return true;
		}
		p = strchr(p, '&');
	}
	return false;
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
	CU_ASSERT_TRUE(query_param(rel, "expires", exp_s, sizeof(exp_s)));
	CU_ASSERT_TRUE(query_param(rel, "sig", sig, sizeof(sig)));
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
	CU_ASSERT_FATAL(query_param(rel, "expires", e, sizeof(e)) && query_param(rel, "sig", g, sizeof(g)));
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
	CU_ASSERT_FATAL(query_param(rel, "expires", exp_s, sizeof(exp_s)) &&
	                query_param(rel, "sig", sig, sizeof(sig)));
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
	CU_ASSERT_FATAL(query_param(rel, "expires", exp_s, sizeof(exp_s)) &&
	                query_param(rel, "sig", sig, sizeof(sig)));
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
	bytes = slurp(small, &len);
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
		                            "apache-error.log" };
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
	tone = slurp(wav, &tone_len);
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
	CU_add_test(s, "no log holds a stream signature", test_no_log_holds_a_stream_signature);
	CU_add_test(s, "the shared media are deleted", test_teardown_media);
	return itest_run_all();
}
