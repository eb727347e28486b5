/* test_webserver.c: what the web server in front answers on its own (JSON errors, body-less and
 * chunked POSTs, 416 after X-Sendfile, its body caps), and slow clients that must not take the pool.
 *
 * Runs under every web server of the harness (MEDIAD_WEB_SERVER says which) and both stream modes
 * (MEDIAD_STREAM_MODE). The slow-client suite takes about 65 s and is skipped in direct mode, where
 * it would test nothing new. Requests that libcurl will not send (no body yet, chunks sent apart,
 * broken headers) go over a raw socket. */
#include "config.h"

#include <CUnit/Basic.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"
#include "util/buf.h"

#define BOUNDARY "mediad-webserver-test-boundary"

static const char *server; /* MEDIAD_WEB_SERVER: lighttpd, apache-proxy or apache-fcgid */
static bool direct_mode;   /* MEDIAD_STREAM_MODE=direct */
static char dir[256];      /* fixtures */
static char wav[300];      /* a 0.3 s tone, made by ffmpeg */
static char tok[4096];
static long long media_id = -1, media_size = -1;

static bool lighttpd(void)
{
	return strcmp(server, "lighttpd") == 0;
}

/* ---- raw HTTP/1.1 over a socket ---------------------------------------------------------------- */

static int raw_send(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends n bytes as one chunk of a chunked body. */
static int raw_chunk(int fd, const char *p, size_t n)
{
	char head[32];

	snprintf(head, sizeof(head), "%zx\r\n", n);
	return raw_send(fd, head, strlen(head)) == 0 && raw_send(fd, p, n) == 0 &&
	                       raw_send(fd, "\r\n", 2) == 0 ?
	               0 :
	               -1;
}

/* Decodes a chunked body in place; returns its length, or (size_t)-1 when it is malformed. */
static size_t dechunk(char *p, size_t n)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long long len;

		if (in >= n)
			return (size_t)-1;
		len = strtoull(p + in, &end, 16);
		if (end == p + in)
			return (size_t)-1;
		end = memmem(end, n - (size_t)(end - p), "\r\n", 2);
		if (end == NULL)
			return (size_t)-1;
		in = (size_t)(end - p) + 2;
		if (len == 0)
			return out;
		if (len > n - in)
			return (size_t)-1;
		memmove(p + out, p + in, len);
		out += len;
		in += len + 2;
	}
}

/* Whether data holds a whole response: headers, then Content-Length bytes or a last chunk. */
static bool raw_complete(const char *data, size_t len)
{
	const char *eoh = memmem(data, len, "\r\n\r\n", 4);
	const char *cl;
	size_t hlen;

	if (eoh == NULL)
		return false;
	hlen = (size_t)(eoh - data) + 4;
	cl = strcasestr(data, "\r\nContent-Length:");
	if (cl != NULL && cl < eoh)
		return len - hlen >= strtoull(cl + 17, NULL, 10);
	if (strcasestr(data, "\r\nTransfer-Encoding: chunked") != NULL)
		return len >= 5 && memcmp(data + len - 5, "0\r\n\r\n", 5) == 0;
	return false;
}

/*
 * Reads one response from fd (waiting at most timeout_ms in all) into r, as itest_send fills it:
 * status, the header block, the body (de-chunked) and its JSON. Returns 0, or -1 when no whole
 * status line came.
 */
static int raw_read(int fd, int timeout_ms, struct itest_resp *r)
{
	long long deadline = itest_now_ms() + timeout_ms;
	struct buf in = BUF_INIT;
	char chunk[16384], *eoh;
	size_t hlen, blen;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	while (!raw_complete(in.data ? in.data : "", in.len)) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = deadline - itest_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_append(&in, chunk, (size_t)n);
	}
	if (in.len < 12 || strncmp(in.data, "HTTP/1.", 7) != 0)
		goto out;
	r->status = strtol(in.data + 9, NULL, 10);
	eoh = memmem(in.data, in.len, "\r\n\r\n", 4);
	if (eoh == NULL)
		goto out;
	hlen = (size_t)(eoh - in.data) + 2;
	r->headers = strndup(in.data, hlen);
	blen = in.len - hlen - 2;
	r->body = malloc(blen + 1);
	if (r->headers == NULL || r->body == NULL)
		goto out;
	memcpy(r->body, eoh + 4, blen);
	if (strcasestr(r->headers, "\r\nTransfer-Encoding: chunked") != NULL)
		blen = dechunk(r->body, blen);
	if (blen == (size_t)-1)
		goto out;
	r->body[blen] = '\0';
	r->body_len = blen;
	if (blen > 0)
		r->json = json_tokener_parse(r->body);
	rc = 0;
out:
	buf_free(&in);
	return rc;
}

/* Sends the whole request req on a new connection and reads the answer into r. */
static int raw_exchange(const char *req, size_t len, struct itest_resp *r)
{
	int fd = itest_connect(0), rc = -1;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	if (raw_send(fd, req, len) == 0)
		rc = raw_read(fd, 20000, r);
	close(fd);
	return rc;
}

/*
 * Sends head (the request line and headers, blank line included) and then body as a chunked body in
 * three chunks with a pause between them, so the web server sees it incomplete when it picks a
 * responder. Reads the answer into r.
 */
static int raw_chunked(const char *head, const char *body, size_t len, struct itest_resp *r)
{
	int fd = itest_connect(0), rc = -1;
	size_t third = len / 3;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	if (raw_send(fd, head, strlen(head)) != 0 || raw_chunk(fd, body, third) != 0)
		goto out;
	itest_sleep_ms(400);
	if (raw_chunk(fd, body + third, third) != 0)
		goto out;
	itest_sleep_ms(400);
	if (raw_chunk(fd, body + 2 * third, len - 2 * third) != 0 || raw_send(fd, "0\r\n\r\n", 5) != 0)
		goto out;
	rc = raw_read(fd, 30000, r);
out:
	close(fd);
	return rc;
}

/* ---- assertions ------------------------------------------------------------------------------- */

/* Asserts r is status with our JSON error shape: application/json, "error": code, a "message". */
static void assert_json_error(const struct itest_resp *r, long status, const char *code)
{
	char ct[128] = "";

	CU_ASSERT_EQUAL(r->status, status);
	CU_ASSERT_TRUE(itest_header(r, "Content-Type", ct, sizeof(ct)));
	CU_ASSERT_EQUAL(strncmp(ct, "application/json", 16), 0);
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(r, "message"));
	CU_ASSERT_PTR_NOT_NULL(itest_jstr(r, "error"));
	if (itest_jstr(r, "error") != NULL)
		CU_ASSERT_STRING_EQUAL(itest_jstr(r, "error"), code);
	if (r->status != status || strncmp(ct, "application/json", 16) != 0 ||
	    itest_jstr(r, "error") == NULL || strcmp(itest_jstr(r, "error"), code) != 0)
		fprintf(stderr, "\n  want %ld %s; got %ld (%s): %.300s\n", status, code, r->status, ct,
		        r->body ? r->body : "");
}

/* ---- set-up ------------------------------------------------------------------------------------ */

static void test_setup_user_and_media(void)
{
	const struct itest_req q = { .method = "POST", .path = "/media", .token = tok, .file = wav };
	struct itest_resp r;

	itest_login(tok, sizeof(tok), NULL, 0, "webserver");
	CU_ASSERT_FATAL(itest_send(&q, &r) == 0);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	media_id = itest_member_int(r.json, "id");
	media_size = itest_member_int(r.json, "sizeBytes");
	itest_resp_free(&r);
	CU_ASSERT_FATAL(media_id > 0 && media_size > 0);
}

/* ---- section 2: errors that are not ours ------------------------------------------------------- */

static void test_bodyless_post_is_served_or_a_json_411_that_says_the_fix(void)
{
	char t1[4096], t2[4096];
	const struct itest_req bare = { .method = "POST", .path = "/auth/logout", .token = t1 };
	const struct itest_req zero = {
		.method = "POST", .path = "/auth/logout", .token = t2, .body = "", .body_len = 0
	};
	struct itest_resp r;

	itest_login(t1, sizeof(t1), NULL, 0, "webserver-bare");
	itest_login(t2, sizeof(t2), NULL, 0, "webserver-zero");
	/* curl -X POST: no Content-Length at all. lighttpd 1.4 refuses it before any module runs. */
	CU_ASSERT_FATAL(itest_send(&bare, &r) == 0);
	if (lighttpd()) {
		assert_json_error(&r, 411, "length_required");
		CU_ASSERT_PTR_NOT_NULL(itest_jstr(&r, "message") ?
		                               strstr(itest_jstr(&r, "message"), "Content-Length: 0") :
		                               NULL);
	} else {
		CU_ASSERT_EQUAL(r.status, 200);
	}
	itest_resp_free(&r);
	/* The fix the 411 names works everywhere. */
	CU_ASSERT_FATAL(itest_send(&zero, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	itest_resp_free(&r);
}

/* A chunked JSON body: lighttpd and mod_fcgid read it whole (capped) and pass it on with its
 * length. mod_proxy_fcgi would spool it with no cap on its size (LimitRequestBody does not apply to
 * proxied requests), so apache-proxy-fcgi.conf refuses it with a JSON 411 that asks for the length. */
static void test_chunked_json_body_is_accepted_or_a_json_411(void)
{
	static const char body[] = "{\"title\":\"sent in chunks\",\"description\":\"one, two, three\"}";
	struct buf head = BUF_INIT;
	struct itest_resp r;
	long long id;

	buf_printf(
	        &head,
	        "POST /projects HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
	        tok);
	CU_ASSERT_FATAL(raw_chunked(head.data, body, strlen(body), &r) == 0);
	if (strcmp(server, "apache-proxy") == 0) {
		assert_json_error(&r, 411, "length_required");
		CU_ASSERT_PTR_NOT_NULL(
		        itest_jstr(&r, "message") ? strstr(itest_jstr(&r, "message"), "chunked") : NULL);
		itest_resp_free(&r);
		buf_free(&head);
		return;
	}
	CU_ASSERT_EQUAL(r.status, 201);
	if (r.status != 201)
		fprintf(stderr, "\n  chunked POST /projects: %ld %.300s\n", r.status, r.body ? r.body : "");
	CU_ASSERT_STRING_EQUAL(itest_jstr(&r, "title") ? itest_jstr(&r, "title") : "", "sent in chunks");
	id = itest_member_int(r.json, "id");
	itest_resp_free(&r);
	if (id > 0)
		itest_delete_project(tok, id);
	buf_free(&head);
}

static void test_chunked_upload_is_accepted(void)
{
	struct buf head = BUF_INIT, body = BUF_INIT;
	struct itest_resp r;
	unsigned char *data = NULL;
	struct stat st;
	long long id;
	FILE *f;

	f = fopen(wav, "rb");
	CU_ASSERT_FATAL(f != NULL && fstat(fileno(f), &st) == 0);
	data = malloc((size_t)st.st_size);
	CU_ASSERT_FATAL(data != NULL && fread(data, 1, (size_t)st.st_size, f) == (size_t)st.st_size);
	fclose(f);
	buf_printf(&body, "--" BOUNDARY
	                  "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"chunked.wav\"\r\n"
	                  "Content-Type: audio/wav\r\n\r\n");
	buf_append(&body, (const char *)data, (size_t)st.st_size);
	buf_puts(&body, "\r\n--" BOUNDARY "--\r\n");
	buf_printf(&head,
	           "POST /media HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	           "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n"
	           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
	           tok);
	CU_ASSERT_FATAL(raw_chunked(head.data, body.data, body.len, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	if (r.status != 201)
		fprintf(stderr, "\n  chunked POST /media: %ld %.300s\n", r.status, r.body ? r.body : "");
	CU_ASSERT_EQUAL(itest_member_int(r.json, "sizeBytes"), (long long)st.st_size);
	id = itest_member_int(r.json, "id");
	itest_resp_free(&r);
	if (id > 0)
		itest_delete_media(tok, id);
	free(data);
	buf_free(&head);
	buf_free(&body);
}

static void test_range_past_the_end_is_416_with_content_range(void)
{
	char path[64], rel[1024], h[64], cr[64], want[64];
	struct itest_resp r;
	const char *url;
	long long starts[] = { media_size, media_size + 1000 };

	snprintf(path, sizeof(path), "/media/%lld/stream-url", media_id);
	CU_ASSERT_FATAL(itest_json("GET", path, tok, NULL, &r) == 0 && r.status == 200);
	url = itest_jstr(&r, "url");
	CU_ASSERT_FATAL(url != NULL && strncmp(url, itest_base(), strlen(itest_base())) == 0);
	snprintf(rel, sizeof(rel), "%s", url + strlen(itest_base()));
	itest_resp_free(&r);
	snprintf(want, sizeof(want), "bytes */%lld", media_size);
	for (size_t i = 0; i < 2; i++) {
		const char *hl[] = { h, NULL };

		snprintf(h, sizeof(h), "Range: bytes=%lld-", starts[i]);
		CU_ASSERT_FATAL(itest_request("GET", rel, hl, NULL, 0, &r) == 0);
		assert_json_error(&r, 416, "range_not_satisfiable");
		cr[0] = '\0';
		CU_ASSERT_TRUE(itest_header(&r, "Content-Range", cr, sizeof(cr)));
		CU_ASSERT_STRING_EQUAL(cr, want);
		itest_resp_free(&r);
	}
}

static void test_upload_over_the_web_server_cap_is_json_413(void)
{
	struct buf req = BUF_INIT;
	struct itest_resp r;

	/* 3 GB announced, nothing sent: over both servers' caps (2 GiB of file + 1 MiB). */
	buf_printf(&req,
	           "POST /media HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	           "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n"
	           "Content-Length: 3000000000\r\nConnection: close\r\n\r\n",
	           tok);
	CU_ASSERT_FATAL(raw_exchange(req.data, req.len, &r) == 0);
	assert_json_error(&r, 413, "payload_too_large");
	itest_resp_free(&r);
	buf_free(&req);
}

static void test_json_body_over_the_web_server_cap_is_json_413(void)
{
	static const char req[] = "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                          "Content-Type: application/json\r\nContent-Length: 2097152\r\n"
	                          "Connection: close\r\n\r\n";
	struct itest_resp r;

	/* 2 MiB announced for a JSON route, whose bodies the web server caps at 1 MiB. */
	CU_ASSERT_FATAL(raw_exchange(req, sizeof(req) - 1, &r) == 0);
	assert_json_error(&r, 413, "payload_too_large");
	itest_resp_free(&r);
}

static void test_malformed_header_line_is_json_400(void)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nthis is no header\r\n"
	                          "Connection: close\r\n\r\n";
	struct itest_resp r;

	CU_ASSERT_FATAL(raw_exchange(req, sizeof(req) - 1, &r) == 0);
	assert_json_error(&r, 400, "bad_request");
	itest_resp_free(&r);
}

static void test_oversized_header_is_json_431_or_400(void)
{
	struct buf req = BUF_INIT;
	struct itest_resp r;
	char *big = malloc(16001);

	CU_ASSERT_FATAL(big != NULL);
	memset(big, 'a', 16000);
	big[16000] = '\0';
	buf_printf(&req, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\nConnection: close\r\n\r\n",
	           big);
	CU_ASSERT_FATAL(raw_exchange(req.data, req.len, &r) == 0);
	/* lighttpd: 431 past its 8 KiB of headers; Apache: 400 past LimitRequestFieldSize. */
	if (lighttpd())
		assert_json_error(&r, 431, "request_header_fields_too_large");
	else
		assert_json_error(&r, 400, "bad_request");
	itest_resp_free(&r);
	buf_free(&req);
	free(big);
}

static void test_overlong_url_is_json_414_or_431(void)
{
	struct buf req = BUF_INIT;
	struct itest_resp r;
	char *big = malloc(16001);

	CU_ASSERT_FATAL(big != NULL);
	memset(big, 'a', 16000);
	big[16000] = '\0';
	buf_printf(&req, "GET /healthz?x=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", big);
	CU_ASSERT_FATAL(raw_exchange(req.data, req.len, &r) == 0);
	/* lighttpd counts the request line as header bytes (431); Apache has LimitRequestLine (414). */
	if (lighttpd())
		assert_json_error(&r, 431, "request_header_fields_too_large");
	else
		assert_json_error(&r, 414, "uri_too_long");
	itest_resp_free(&r);
	buf_free(&req);
	free(big);
}

static void test_unknown_transfer_coding_is_json_501_or_400(void)
{
	static const char req[] = "POST /projects HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                          "Content-Type: application/json\r\nTransfer-Encoding: identity\r\n"
	                          "Connection: close\r\n\r\n";
	struct itest_resp r;

	CU_ASSERT_FATAL(raw_exchange(req, sizeof(req) - 1, &r) == 0);
	/* lighttpd: 501 (it implements chunked only); Apache: 400 (an unknown coding is malformed). */
	if (lighttpd())
		assert_json_error(&r, 501, "not_implemented");
	else
		assert_json_error(&r, 400, "bad_request");
	itest_resp_free(&r);
}

static void test_teardown_media(void)
{
	if (media_id > 0)
		itest_delete_media(tok, media_id);
}

/* ---- section 3: slow clients ------------------------------------------------------------------- */

#define DRIBBLERS 40        /* half on login, half on an upload route */
#define DRIBBLE_MS 2000     /* one byte every this often */
#define SLOW_RUN_MS 60000   /* how long the pressure lasts */
#define PROBE_LIMIT_MS 1000 /* each probe must be answered within this */
#define ANNOUNCED 60000     /* the Content-Length every dribbler announces */

struct dribbler {
	int fd;
	bool upload;
	size_t sent;
	long long opened_ms;
};

/* What the dribbler thread saw; read by the test after the thread is joined. */
struct dribble_stats {
	int opened;
	int answered;     /* answers of any kind */
	int answered_408; /* JSON 408 request_timeout */
	int upload_408;   /* of which on the upload route */
	int proxy_503;    /* Apache's own JSON 503 on the upload route (mod_proxy_fcgi; see the test) */
	char other[512];  /* the first answer that was not a JSON 408 */
	char seen_503[256];
};

static volatile sig_atomic_t dribble_stop;
static struct dribble_stats dstats;
static char login_body[ANNOUNCED + 1], upload_body[ANNOUNCED + 1];

/* Opens d's connection and sends its headers and first byte. Returns 0 or -1. */
static int dribbler_open(struct dribbler *d)
{
	struct buf head = BUF_INIT;
	int rc = -1;

	d->fd = itest_connect(0);
	d->sent = 0;
	d->opened_ms = itest_now_ms();
	if (d->fd < 0)
		return -1;
	if (d->upload)
		buf_printf(&head,
		           "POST /media HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
		           "Content-Type: multipart/form-data; boundary=" BOUNDARY "\r\n"
		           "Content-Length: %d\r\n\r\n",
		           tok, ANNOUNCED);
	else
		buf_printf(
		        &head,
		        "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		        "Content-Length: %d\r\n\r\n",
		        ANNOUNCED);
	if (raw_send(d->fd, head.data, head.len) == 0 &&
	    raw_send(d->fd, d->upload ? upload_body : login_body, 1) == 0) {
		d->sent = 1;
		rc = 0;
		dstats.opened++;
	}
	buf_free(&head);
	if (rc != 0) {
		close(d->fd);
		d->fd = -1;
	}
	return rc;
}

/* Whether Apache with mod_proxy_fcgi is in front (the harness exports MEDIAD_WEB_SERVER). */
static bool apache_proxy(void)
{
	const char *w = getenv("MEDIAD_WEB_SERVER");

	return w != NULL && strcmp(w, "apache-proxy") == 0;
}

/* d's connection has something to read: an answer, or its end. Records it and closes. */
static void dribbler_answered(struct dribbler *d)
{
	struct itest_resp r;

	if (raw_read(d->fd, 2000, &r) == 0) {
		const char *code = itest_jstr(&r, "error");

		dstats.answered++;
		if (r.status == 408 && code != NULL && strcmp(code, "request_timeout") == 0) {
			dstats.answered_408++;
			if (d->upload)
				dstats.upload_408++;
		} else if (d->upload && r.status == 503 && code != NULL && strcmp(code, "unavailable") == 0 &&
		           apache_proxy()) {
			dstats.proxy_503++;
			snprintf(dstats.seen_503, sizeof(dstats.seen_503), "after %lld ms, %zu bytes sent",
			         itest_now_ms() - d->opened_ms, d->sent);
		} else if (dstats.other[0] == '\0') {
			snprintf(dstats.other, sizeof(dstats.other), "%s: %ld %.300s",
			         d->upload ? "POST /media" : "POST /auth/login", r.status,
			         r.body ? r.body : "");
		}
	}
	itest_resp_free(&r);
	close(d->fd);
	d->fd = -1;
}

/* The dribbler thread: keeps DRIBBLERS connections sending one byte every DRIBBLE_MS, and opens a
 * new one whenever the server answers or closes one, until dribble_stop. */
static void *dribble(void *arg)
{
	struct dribbler d[DRIBBLERS];
	long long next_byte;
	(void)arg;

	for (int i = 0; i < DRIBBLERS; i++) {
		d[i].upload = i % 2 == 1;
		dribbler_open(&d[i]);
	}
	next_byte = itest_now_ms() + DRIBBLE_MS;
	while (!dribble_stop) {
		struct pollfd p[DRIBBLERS];

		for (int i = 0; i < DRIBBLERS; i++) {
			p[i].fd = d[i].fd;
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		poll(p, DRIBBLERS, 100);
		for (int i = 0; i < DRIBBLERS; i++) {
			if (d[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
				dribbler_answered(&d[i]);
			if (d[i].fd < 0)
				dribbler_open(&d[i]);
		}
		if (itest_now_ms() < next_byte)
			continue;
		next_byte += DRIBBLE_MS;
		for (int i = 0; i < DRIBBLERS; i++) {
			const char *src = d[i].upload ? upload_body : login_body;

			if (d[i].fd < 0 || d[i].sent >= ANNOUNCED)
				continue;
			if (send(d[i].fd, src + d[i].sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
				d[i].sent++;
		}
	}
	for (int i = 0; i < DRIBBLERS; i++)
		if (d[i].fd >= 0)
			close(d[i].fd);
	return NULL;
}

/* GET path (with tok when auth) must answer 200 within PROBE_LIMIT_MS. Returns its time in ms, or
 * -1 (printed) when it did not. */
static long long probe(const char *path, bool auth)
{
	const struct itest_req q = { .method = "GET", .path = path, .token = auth ? tok : NULL };
	long long t0 = itest_now_ms(), ms;
	struct itest_resp r;
	long st = -1;

	if (itest_send(&q, &r) == 0)
		st = r.status;
	itest_resp_free(&r);
	ms = itest_now_ms() - t0;
	if (st != 200 || ms > PROBE_LIMIT_MS) {
		fprintf(stderr, "\n  GET %s: %ld after %lld ms", path, st, ms);
		return -1;
	}
	return ms;
}

static void test_slow_bodies_do_not_take_the_pool(void)
{
	pthread_t th;
	long long end, worst = 0;
	int probes = 0, failed = 0;

	/* Valid beginnings, so that no parser refuses the body before it is complete. */
	static const char login_start[] = "{\"email\":\"slow@example.com\",\"password\":\"";

	memset(login_body, ' ', ANNOUNCED);
	memcpy(login_body, login_start, sizeof(login_start) - 1);
	memset(upload_body, 'a', ANNOUNCED);
	snprintf(upload_body, sizeof(upload_body),
	         "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.wav\"\r\n"
	         "Content-Type: audio/wav\r\n\r\n");
	upload_body[strlen(upload_body)] = 'a';
	memset(&dstats, 0, sizeof(dstats));
	dribble_stop = 0;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, dribble, NULL) == 0);
	/* Let every dribbler reach the web server (and, unless it is held off, a responder). */
	itest_sleep_ms(3000);
	end = itest_now_ms() + SLOW_RUN_MS - 3000;
	while (itest_now_ms() < end) {
		long long a = probe("/healthz", false), b = probe("/auth/me", true);

		probes += 2;
		failed += (a < 0) + (b < 0);
		worst = a > worst ? a : worst;
		worst = b > worst ? b : worst;
		itest_sleep_ms(250);
	}
	dribble_stop = 1;
	pthread_join(th, NULL);
	fprintf(stderr,
	        "\n  %d probes, %d late or failed, slowest %lld ms; %d dribbling connections, "
	        "%d answered, %d with a JSON 408 (%d on the upload route)\n",
	        probes, failed, worst, dstats.opened, dstats.answered, dstats.answered_408,
	        dstats.upload_408);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_TRUE(probes > 50);
	/* The responders that read the uploads cut them with a JSON 408 (mediad's body deadline). */
	CU_ASSERT_TRUE(dstats.upload_408 > 0);
	/* And nothing else was answered: no HTML, no 5xx. One exception, Apache's: mod_proxy_fcgi
	 * cannot relay an answer mediad gives before the body is in, and answers its own 503 (our
	 * JSON document) instead (fcgi-conf/apache-proxy-fcgi.conf, "Slow clients"). Apache's body
	 * bound (20 s) acts before mediad's (30 s), so this is rare: seen once in 82 answers, in
	 * full parallel `make check` runs only. Counted and shown, and bounded to one in ten. */
	if (dstats.other[0] != '\0')
		fprintf(stderr, "  an answer that is not a JSON 408: %s\n", dstats.other);
	if (dstats.proxy_503 > 0)
		fprintf(stderr, "  Apache's own 503 on an upload: %d (the last %s)\n", dstats.proxy_503,
		        dstats.seen_503);
	CU_ASSERT_TRUE(dstats.proxy_503 * 10 <= dstats.answered);
	CU_ASSERT_EQUAL(dstats.answered, dstats.answered_408 + dstats.proxy_503);
}

/* ---- suite -------------------------------------------------------------------------------------- */

static int suite_init(void)
{
	const char *a[] = {
		"ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.3",
		"-ac",    "1",        wav,  NULL
	};

	snprintf(dir, sizeof(dir), "/tmp/mediad-webserver-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(wav, sizeof(wav), "%s/small.wav", dir);
	return itest_run(a) == 0 ? 0 : -1;
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

	/* A server that closes a dribbling connection must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	server = getenv("MEDIAD_WEB_SERVER") ? getenv("MEDIAD_WEB_SERVER") : "lighttpd";
	direct_mode =
	        getenv("MEDIAD_STREAM_MODE") != NULL && strcmp(getenv("MEDIAD_STREAM_MODE"), "direct") == 0;
	if (itest_init() != 0)
		return 1;
	s = CU_add_suite("errors the web server answers on its own", suite_init, suite_clean);
	CU_add_test(s, "a user and a media", test_setup_user_and_media);
	CU_add_test(s, "a body-less POST is served, or a JSON 411 that says the fix",
	            test_bodyless_post_is_served_or_a_json_411_that_says_the_fix);
	CU_add_test(s, "a chunked JSON body is accepted, or a JSON 411 (mod_proxy_fcgi)",
	            test_chunked_json_body_is_accepted_or_a_json_411);
	CU_add_test(s, "a chunked upload is accepted", test_chunked_upload_is_accepted);
	CU_add_test(s, "Range past the end is 416 with Content-Range",
	            test_range_past_the_end_is_416_with_content_range);
	CU_add_test(s, "an upload over the web server's cap is a JSON 413",
	            test_upload_over_the_web_server_cap_is_json_413);
	CU_add_test(s, "a JSON body over the web server's cap is a JSON 413",
	            test_json_body_over_the_web_server_cap_is_json_413);
	CU_add_test(s, "a malformed header line is a JSON 400", test_malformed_header_line_is_json_400);
	CU_add_test(s, "an oversized header is a JSON 431 or 400", test_oversized_header_is_json_431_or_400);
	CU_add_test(s, "an overlong URL is a JSON 414 or 431", test_overlong_url_is_json_414_or_431);
	CU_add_test(s, "an unknown transfer coding is a JSON 501 or 400",
	            test_unknown_transfer_coding_is_json_501_or_400);
	CU_add_test(s, "the media is deleted", test_teardown_media);
	/* The pool under slow clients does not depend on the stream mode: the direct run skips it. */
	if (!direct_mode) {
		s = CU_add_suite("slow clients", NULL, NULL);
		CU_add_test(s, "40 slow bodies for 60 s do not take the pool",
		            test_slow_bodies_do_not_take_the_pool);
	}
	return itest_run_all();
}
