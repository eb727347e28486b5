/* fcgi_io.c: http_io over an accepted FCGX_Request. */
#include "config.h"

#include "http/fcgi_io.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
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

void fcgi_io_init(struct http_io *io, FCGX_Request *r)
{
	io->ctx = r;
	io->read = fcgi_read;
	io->write = fcgi_write;
	io->param = fcgi_param;
}
