/* fcgi_io.c: http_io over an accepted FCGX_Request. */
#include "config.h"

#include "http/fcgi_io.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

static ssize_t fcgi_read(void *ctx, char *buf, size_t n)
{
	FCGX_Request *r = ctx;
	int want = n > INT_MAX ? INT_MAX : (int)n;
	int got = FCGX_GetStr(buf, want, r->in);

	/* A short read is the end of the body, unless the stream reports an error (the web server
	 * aborted the request: the client went away mid-upload). */
	if (got < want && FCGX_GetError(r->in) != 0)
		return -1;
	return got;
}

/*
 * The body read with a deadline (http_io.read_within). FCGX_GetStr returns only once it has all n
 * bytes or the body has ended, and libfcgi reads the socket with no time limit: a client that sends
 * one byte every few seconds would hold this process for as long as it liked. So:
 *  - take no more than libfcgi holds already (its buffer: stop - rdNext, public fields of
 *    FCGX_Stream); only when it holds nothing ask for one byte, which makes libfcgi read the socket
 *    once, then take whatever else that read brought;
 *  - bound the socket reads with SO_RCVTIMEO on the request's socket (fd 0's accepted connection
 *    under lighttpd and mod_fcgid, the --listen socket's under mod_proxy_fcgi). Not poll() before
 *    the call: one refill may take libfcgi several read(2)s (a record header that came apart from
 *    its content, padding, management records), and only a socket timeout bounds each of them; not
 *    alarm(): it needs a signal handler and would cut writes and database waits too. A read that
 *    times out fails with EAGAIN, which libfcgi keeps as the stream's error: -2. The timeout is
 *    taken off again at once, so that no other read of the connection (the next request's, should
 *    a web server keep FastCGI connections open) inherits it.
 */
static ssize_t fcgi_read_within(void *ctx, char *buf, size_t n, int timeout_ms)
{
	FCGX_Request *r = ctx;
	FCGX_Stream *in = r->in;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 }, none = { 0, 0 };
	int want = n > INT_MAX ? INT_MAX : (int)n, got, err;
	ptrdiff_t held = in->stop - in->rdNext;

	if (want == 0)
		return 0;
	if (held > 0)
		return FCGX_GetStr(buf, want < held ? want : (int)held, in);
	if (setsockopt(r->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		return -1;
	got = FCGX_GetStr(buf, 1, in);
	(void)setsockopt(r->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	if (got < 1) {
		err = FCGX_GetError(in);
		if (err == EAGAIN || err == EWOULDBLOCK)
			return -2;
		return err != 0 ? -1 : 0;
	}
	held = in->stop - in->rdNext;
	if (held > 0 && want > 1)
		got += FCGX_GetStr(buf + 1, want - 1 < held ? want - 1 : (int)held, in);
	return got;
}

/* Body writes at least this large go out as our own STDOUT records (see fcgi_write_direct). */
#define FCGI_DIRECT_MIN (16 * 1024)
/* The largest record content FastCGI allows is 65535; a multiple of 8 keeps records aligned. */
#define FCGI_RECORD_MAX 65528
#define FCGI_STDOUT_TYPE 6

/*
 * Writes n bytes as FastCGI STDOUT records of up to 64 KiB, with one writev each, straight to the
 * request's socket. libfcgi's own writer cuts everything into 8 KiB records, one write(2) each:
 * for a streamed file that is 8 times the system calls and records for the web server to parse.
 * libfcgi's buffer is flushed first, so the bytes keep their order, and it stays empty, so its
 * closing records at FCGX_Finish_r follow ours. This reads two fields of FCGX_Request (requestId,
 * ipcFd) that libfcgi 2.4 has kept in place for as long as it has existed.
 */
static int fcgi_write_direct(FCGX_Request *r, const char *buf, size_t n)
{
	if (FCGX_FFlush(r->out) != 0 || FCGX_GetError(r->out) != 0 || r->ipcFd < 0)
		return -1;
	while (n > 0) {
		size_t k = n > FCGI_RECORD_MAX ? FCGI_RECORD_MAX : n;
		unsigned char h[8] = { 1,
			               FCGI_STDOUT_TYPE,
			               (unsigned char)((r->requestId >> 8) & 0xff),
			               (unsigned char)(r->requestId & 0xff),
			               (unsigned char)(k >> 8),
			               (unsigned char)(k & 0xff),
			               0,
			               0 };
		struct iovec iov[2] = { { h, sizeof(h) }, { (void *)(uintptr_t)buf, k } };
		size_t left = sizeof(h) + k;

		while (left > 0) {
			ssize_t w = writev(r->ipcFd, iov, 2);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1; /* the web server closed the connection: the client is gone */
			left -= (size_t)w;
			/* A partial write: advance through the header, then the data. */
			for (int i = 0; i < 2 && w > 0; i++) {
				size_t take = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;
				iov[i].iov_base = (char *)iov[i].iov_base + take;
				iov[i].iov_len -= take;
				w -= (ssize_t)take;
			}
		}
		buf += k;
		n -= k;
	}
	return 0;
}

static int fcgi_write(void *ctx, const char *buf, size_t n)
{
	FCGX_Request *r = ctx;

	if (n >= FCGI_DIRECT_MIN)
		return fcgi_write_direct(r, buf, n);
	while (n > 0) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;
		if (FCGX_PutStr(buf, chunk, r->out) != chunk)
			return -1;
		buf += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

static const char *fcgi_param(void *ctx, const char *name)
{
	FCGX_Request *r = ctx;

	return FCGX_GetParam(name, r->envp);
}

/* libfcgi keeps every parameter the web server sent, repeated names included, in envp. */
static size_t fcgi_param_count(void *ctx, const char *name)
{
	FCGX_Request *r = ctx;
	size_t len = strlen(name), n = 0;
	char **e;

	for (e = r->envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			n++;
	return n;
}

void fcgi_io_init(struct http_io *io, FCGX_Request *r)
{
	io->ctx = r;
	io->read = fcgi_read;
	io->write = fcgi_write;
	io->param = fcgi_param;
	io->param_count = fcgi_param_count;
	io->read_within = fcgi_read_within;
}
