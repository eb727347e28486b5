/* test_fcgi_io.c: unit tests of the request body reader (http/fcgi_io.c) against the real libfcgi. */
#include "config.h"

#include "http/fcgi_io.h"

#include <CUnit/Basic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

/* What the fake web server does once it has written its bytes. */
enum after_write { KEEP_OPEN, HANG_UP, STALL };

/*
 * A web server in a child process: it connects to the responder's socket and writes a FastCGI
 * stream in pieces of random sizes; the test is the responder (FCGX_Accept_r, then io).
 */
struct fake_web {
	char dir[48];
	char path[64]; /* fits sun_path */
	int listen_fd;
	pid_t pid;
	FCGX_Request req;
	struct http_io io;
	unsigned char *stream; /* what it sends */
	size_t len;
	unsigned char *body; /* the request body in it */
	size_t body_len;
	uint32_t seed;
};

static uint32_t next_random(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Appends a record: type, request id, content c[0..n), pad bytes of padding. */
static void put_record(struct fake_web *w, int type, int id, const unsigned char *c, size_t n, int pad)
{
	unsigned char *o = w->stream + w->len;

	o[0] = 1;
	o[1] = (unsigned char)type;
	o[2] = (unsigned char)(id >> 8);
	o[3] = (unsigned char)id;
	o[4] = (unsigned char)(n >> 8);
	o[5] = (unsigned char)n;
	o[6] = (unsigned char)pad;
	o[7] = 0;
	if (n > 0)
		memcpy(o + 8, c, n);
	memset(o + 8 + n, 0xee, (size_t)pad);
	w->len += 8 + n + (size_t)pad;
}

/*
 * Prepares a request of body_len random bytes: BEGIN_REQUEST, PARAMS, then STDIN records of sizes
 * from 1 byte to 64 KiB with random padding, then the empty STDIN record. With noise, records of
 * another request and management records come between them.
 */
static void web_prepare(struct fake_web *w, size_t body_len, uint32_t seed, bool noise)
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	unsigned char params[64];
	size_t off = 0, n;
	int k;

	memset(w, 0, sizeof(*w));
	w->seed = seed;
	w->body_len = body_len;
	w->body = malloc(body_len + 1);
	w->stream = malloc(2 * body_len + 4096);
	CU_ASSERT_FATAL(w->body != NULL && w->stream != NULL);
	for (off = 0; off < body_len; off++)
		w->body[off] = (unsigned char)next_random(&w->seed);
	put_record(w, 1, 1, begin, sizeof(begin), 0);
	k = snprintf((char *)params + 2, sizeof(params) - 2, "CONTENT_LENGTH%zu", body_len);
	params[0] = 14;
	params[1] = (unsigned char)(k - 14);
	put_record(w, 4, 1, params, (size_t)k + 2, (int)(next_random(&w->seed) % 8));
	put_record(w, 4, 1, params, 0, 0);
	for (off = 0; off < body_len; off += n) {
		n = next_random(&w->seed) % 4 == 0 ? next_random(&w->seed) % 65535 + 1 :
		                                     next_random(&w->seed) % 300 + 1;
		if (n > body_len - off)
			n = body_len - off;
		if (noise && next_random(&w->seed) % 5 == 0)
			put_record(w, 5, 2, w->body, next_random(&w->seed) % 100, 3);
		if (noise && next_random(&w->seed) % 7 == 0)
			put_record(w, 9, 0, w->body, next_random(&w->seed) % 20, 0);
		put_record(w, 5, 1, w->body + off, n, (int)(next_random(&w->seed) % 256));
	}
	put_record(w, 5, 1, NULL, 0, 0);
}

/* Starts the web server: it sends the first upto bytes of the stream, then does after. */
static void web_start(struct fake_web *w, size_t upto, enum after_write after)
{
	struct sockaddr_un sa;
	size_t o = 0, n;
	ssize_t k;
	int c;
	char junk[16];

	snprintf(w->dir, sizeof(w->dir), "/tmp/mediad-fcgi-io-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(w->dir) != NULL);
	snprintf(w->path, sizeof(w->path), "%s/sock", w->dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", w->path);
	w->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(w->listen_fd >= 0);
	CU_ASSERT_FATAL(bind(w->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(listen(w->listen_fd, 1) == 0);
	w->pid = fork();
	CU_ASSERT_FATAL(w->pid >= 0);
	if (w->pid == 0) {
		c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			_exit(1);
		while (o < upto) {
			n = next_random(&w->seed) % 3 == 0 ? next_random(&w->seed) % 200000 + 1 :
			                                     next_random(&w->seed) % 50 + 1;
			if (n > upto - o)
				n = upto - o;
			k = write(c, w->stream + o, n);
			if (k <= 0)
				_exit(1);
			o += (size_t)k;
			if (next_random(&w->seed) % 50 == 0)
				usleep(1000);
		}
		if (after == STALL)
			pause();
		if (after == KEEP_OPEN)
			(void)!read(c, junk, sizeof(junk));
		_exit(0);
	}
	CU_ASSERT_FATAL(FCGX_Init() == 0);
	CU_ASSERT_FATAL(FCGX_InitRequest(&w->req, w->listen_fd, 0) == 0);
	CU_ASSERT_FATAL(FCGX_Accept_r(&w->req) == 0);
	fcgi_io_init(&w->io, &w->req);
}

static void web_stop(struct fake_web *w)
{
	FCGX_Finish_r(&w->req);
	FCGX_Free(&w->req, 1);
	kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	close(w->listen_fd);
	unlink(w->path);
	rmdir(w->dir);
	free(w->body);
	free(w->stream);
}

/*
 * Reads the body with read_within in pieces of random sizes (1 byte to 256 KiB), checking each
 * against what was sent. Returns the last result (0 at the end, -1, -2); *got: the bytes read.
 */
static ssize_t read_all(struct fake_web *w, int timeout_ms, size_t *got)
{
	static char buf[262144];
	ssize_t k;
	size_t want;

	*got = 0;
	for (;;) {
		want = next_random(&w->seed) % 3 == 0 ? sizeof(buf) : next_random(&w->seed) % 5000 + 1;
		k = w->io.read_within(w->io.ctx, buf, want, timeout_ms);
		if (k <= 0)
			return k;
		if (*got + (size_t)k > w->body_len || memcmp(buf, w->body + *got, (size_t)k) != 0) {
			fprintf(stderr, "\n  wrong bytes after %zu\n", *got);
			return -100;
		}
		*got += (size_t)k;
	}
}

static void check_whole_body(size_t len, uint32_t seed, bool noise)
{
	struct fake_web w;
	size_t got;

	web_prepare(&w, len, seed, noise);
	web_start(&w, w.len, KEEP_OPEN);
	CU_ASSERT_EQUAL(read_all(&w, 5000, &got), 0);
	CU_ASSERT_EQUAL(got, len);
	/* The end stays the end, and the stream is clean: the connection may be kept. */
	CU_ASSERT_EQUAL(w.io.read_within(w.io.ctx, (char[8]){ 0 }, 8, 100), 0);
	CU_ASSERT_EQUAL(w.io.read(w.io.ctx, (char[8]){ 0 }, 8), 0);
	CU_ASSERT_EQUAL(FCGX_GetError(w.req.in), 0);
	web_stop(&w);
}

static void test_records_of_any_size_and_padding_give_the_body_byte_for_byte(void)
{
	for (uint32_t seed = 1; seed <= 12; seed++)
		check_whole_body(seed % 3 == 0 ? 3000000 : seed * 7919, seed, false);
}

static void test_other_requests_and_management_records_are_dropped(void)
{
	for (uint32_t seed = 100; seed <= 106; seed++)
		check_whole_body(seed * 30011, seed, true);
}

/* A body that came whole with the parameters is in libfcgi's buffer before the first read. */
static void test_a_body_libfcgi_read_ahead_comes_first(void)
{
	check_whole_body(0, 7, false);
	check_whole_body(1, 8, false);
	check_whole_body(3000, 9, false);
}

static void test_a_connection_cut_mid_record_is_an_error(void)
{
	struct fake_web w;
	size_t got;

	web_prepare(&w, 500000, 21, true);
	web_start(&w, w.len / 2, HANG_UP);
	CU_ASSERT_EQUAL(read_all(&w, 5000, &got), -1);
	CU_ASSERT_TRUE(got < w.body_len);
	CU_ASSERT_NOT_EQUAL(FCGX_GetError(w.req.in), 0);
	web_stop(&w);
}

static void test_a_stalled_body_times_out(void)
{
	struct fake_web w;
	size_t got;

	web_prepare(&w, 500000, 22, false);
	web_start(&w, w.len / 3, STALL);
	CU_ASSERT_EQUAL(read_all(&w, 200, &got), -2);
	CU_ASSERT_TRUE(got < w.body_len);
	web_stop(&w);
}

/* A body read in part leaves the connection in the middle of a record: it must not be kept. */
static void test_a_body_left_unread_marks_the_stream_failed(void)
{
	struct fake_web w;
	char buf[1000];

	web_prepare(&w, 200000, 23, false);
	web_start(&w, w.len, KEEP_OPEN);
	CU_ASSERT_TRUE(w.io.read_within(w.io.ctx, buf, sizeof(buf), 5000) > 0);
	CU_ASSERT_NOT_EQUAL(FCGX_GetError(w.req.in), 0);
	web_stop(&w);
}

static const struct unit_test tests[] = {
	{ "records of any size and padding give the body byte for byte",
	  test_records_of_any_size_and_padding_give_the_body_byte_for_byte },
	{ "other requests' and management records are dropped",
	  test_other_requests_and_management_records_are_dropped },
	{ "a body libfcgi read ahead comes first", test_a_body_libfcgi_read_ahead_comes_first },
	{ "a connection cut mid-record is an error", test_a_connection_cut_mid_record_is_an_error },
	{ "a stalled body times out", test_a_stalled_body_times_out },
	{ "a body left unread marks the stream failed", test_a_body_left_unread_marks_the_stream_failed },
};

UNIT_SUITES(UNIT_SUITE("fcgi_io", NULL, NULL, tests));
