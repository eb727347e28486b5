/* fcgi_io.c: http_io over an accepted FCGX_Request. */
#include "config.h"

#include "http/fcgi_io.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---- the request body ------------------------------------------------------------------------
 *
 * The body is read here, not through libfcgi's reader. That reader fills an 8 KiB buffer per
 * read(2) (the size FCGX_Accept_r gives it), so a 1 GiB upload took 131,072 reads, and the
 * deadline of fcgi_read_within_libfcgi two setsockopt(2)s around each. Here one recv(2) takes as
 * much as the caller's buffer holds, straight into it, and the FastCGI record headers and padding
 * are squeezed out in place: one system call for as much of the body as the socket holds.
 *
 * The first body read of a request takes over from libfcgi, whose buffer may already hold the
 * start of the body (the web server sends it with the parameters): the rest of the record it was
 * in and the bytes it read past it come first. Where that record ends is in libfcgi's private
 * FCGX_Stream_Data (fcgiapp.c), mirrored below: the same in every libfcgi from 2.4.0 to 2.4.7
 * (unchanged since 1997), and trusted only when it agrees with the public FCGX_Stream fields it
 * must agree with (fcgi_body_take); when it does not, the body is read through libfcgi as before.
 * libfcgi's stream is then closed, so that nothing of libfcgi reads this body again, and marked
 * failed until the body's last record came, so that FCGX_Finish_r closes a connection left in the
 * middle of a record instead of keeping it for another request (FCGI_KEEP_CONN).
 */

#define FCGI_HEADER_LEN 8
#define FCGI_VERSION_1 1
#define FCGI_STDIN_TYPE 5
#define FCGI_RECORD_CONTENT_MAX 0xffff
#define FCGI_RECORD_PADDING_MAX 0xff
/* libfcgi's reader buffer (FCGX_Accept_r): at most this much is read ahead when we take over. */
#define FCGI_LIBFCGI_READ_AHEAD 8192

/* libfcgi 2.4's FCGX_Stream_Data, field for field (see above). */
struct libfcgi_stream_data {
	unsigned char *buff;
	int bufflen;
	unsigned char *mBuff;
	unsigned char *buffStop;
	int type;
	int eorStop;
	int skip;
	int contentLen;
	int paddingLen;
	int isAnythingWritten;
	int rawWrite;
	FCGX_Request *reqDataPtr;
};

/* The body of the request in progress (a responder serves one request at a time). */
static struct fcgi_body {
	FCGX_Stream *in; /* the libfcgi stream it was taken from (see fcgi_body_ours) */
	size_t content;  /* content bytes of the current record still to come */
	size_t padding;  /* then its padding */
	bool skip;       /* the current record is not this request's STDIN: dropped */
	bool eof;        /* the empty STDIN record came: the body is complete */
	int err;         /* why reading failed (errno or FCGX_*), 0 while it has not */
	size_t hdr_len;  /* bytes of a record header that came so far */
	unsigned char hdr[FCGI_HEADER_LEN];
	size_t ahead_pos; /* what libfcgi had read ahead, consumed before the socket */
	size_t ahead_len;
	unsigned char ahead[FCGI_LIBFCGI_READ_AHEAD];
} fcgi_in;

static bool within(const void *lo, const void *p, const void *hi)
{
	return (uintptr_t)lo <= (uintptr_t)p && (uintptr_t)p <= (uintptr_t)hi;
}

/* Whether the body of r is being read here: taken over, and libfcgi's stream still the one we
 * closed (FCGX_Accept_r makes a new, open one for each request, possibly at the same address). */
static bool fcgi_body_ours(const FCGX_Request *r)
{
	return r->in != NULL && fcgi_in.in == r->in && r->in->isClosed;
}

/*
 * Takes the body of r over from libfcgi's reader, which must not have read any of it yet or be in
 * the middle of a STDIN record. Returns false, changing nothing, when libfcgi's state is not the
 * one mirrored above or not at such a point: the body is then read through libfcgi.
 */
static bool fcgi_body_take(FCGX_Request *r)
{
	FCGX_Stream *in = r->in;
	const struct libfcgi_stream_data *d;
	size_t ahead;

	fcgi_in.in = NULL;
	if (in == NULL || !in->isReader || in->isClosed || in->FCGI_errno != 0 || in->data == NULL ||
	    r->ipcFd < 0)
		return false;
	d = in->data;
	if (d->reqDataPtr != r || d->type != FCGI_STDIN_TYPE || d->eorStop != 0 || d->skip != 0 ||
	    d->buff == NULL || d->bufflen <= 0 || d->contentLen < 0 ||
	    d->contentLen > FCGI_RECORD_CONTENT_MAX || d->paddingLen < 0 ||
	    d->paddingLen > FCGI_RECORD_PADDING_MAX || !within(d->buff, in->rdNext, in->stop) ||
	    !within(in->stop, d->buffStop, d->buff + d->bufflen) ||
	    (d->contentLen > 0 && in->stop != d->buffStop))
		return false;
	/* From rdNext on: the current record's content up to stop, and past stop, when that record
	 * ends there, its padding and the records after it. */
	ahead = (size_t)(d->buffStop - in->rdNext);
	if (ahead > sizeof(fcgi_in.ahead))
		return false;
	memcpy(fcgi_in.ahead, in->rdNext, ahead);
	fcgi_in.ahead_pos = 0;
	fcgi_in.ahead_len = ahead;
	fcgi_in.content = (size_t)(in->stop - in->rdNext) + (size_t)d->contentLen;
	fcgi_in.padding = (size_t)d->paddingLen;
	fcgi_in.skip = false;
	fcgi_in.eof = false;
	fcgi_in.err = 0;
	fcgi_in.hdr_len = 0;
	in->rdNext = in->stop;
	in->wrNext = in->stop;
	in->isClosed = 1;
	in->FCGI_errno = FCGX_PROTOCOL_ERROR; /* until the last record: see above */
	fcgi_in.in = in;
	return true;
}

/* Sets up the record whose header is complete in fcgi_in.hdr. Returns false on a malformed one. */
static bool fcgi_body_header(const FCGX_Request *r)
{
	const unsigned char *h = fcgi_in.hdr;
	int id = (h[2] << 8) | h[3];

	if (h[0] != FCGI_VERSION_1) {
		fcgi_in.err = FCGX_UNSUPPORTED_VERSION;
		return false;
	}
	fcgi_in.content = ((size_t)h[4] << 8) | h[5];
	fcgi_in.padding = h[6];
	/* Records of another request are dropped, as libfcgi's reader drops them (it does not
	 * multiplex); so are management records (requestId 0), which libfcgi would answer: web servers
	 * send them, if ever, between requests, not in the middle of a body. */
	fcgi_in.skip = id != r->requestId;
	if (fcgi_in.skip)
		return true;
	if (h[1] != FCGI_STDIN_TYPE) {
		fcgi_in.err = FCGX_PROTOCOL_ERROR;
		return false;
	}
	if (fcgi_in.content == 0) {
		fcgi_in.eof = true;
		r->in->FCGI_errno = 0;
	}
	return true;
}

/*
 * Turns src[0..n), bytes of the connection, into body bytes at dst (at most room of them),
 * dropping record headers, padding and other records. dst may be src, or before it: the body is
 * squeezed together in place. Stops at the body's end or a malformed record (fcgi_in.err).
 * Returns the bytes of src used; *got: the body bytes written.
 */
static size_t fcgi_body_parse(const FCGX_Request *r, const unsigned char *src, size_t n, char *dst,
                              size_t room, size_t *got)
{
	size_t i = 0, k;

	*got = 0;
	while (i < n && !fcgi_in.eof && fcgi_in.err == 0) {
		if (fcgi_in.content > 0) {
			k = n - i < fcgi_in.content ? n - i : fcgi_in.content;
			if (!fcgi_in.skip) {
				if (k > room - *got)
					k = room - *got;
				if (k == 0)
					break;
				memmove(dst + *got, src + i, k);
				*got += k;
			}
			fcgi_in.content -= k;
			i += k;
		} else if (fcgi_in.padding > 0) {
			k = n - i < fcgi_in.padding ? n - i : fcgi_in.padding;
			fcgi_in.padding -= k;
			i += k;
		} else {
			k = FCGI_HEADER_LEN - fcgi_in.hdr_len;
			if (k > n - i)
				k = n - i;
			memcpy(fcgi_in.hdr + fcgi_in.hdr_len, src + i, k);
			fcgi_in.hdr_len += k;
			i += k;
			if (fcgi_in.hdr_len == FCGI_HEADER_LEN) {
				fcgi_in.hdr_len = 0;
				if (!fcgi_body_header(r))
					break;
			}
		}
	}
	return i;
}

static long long fcgi_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads body bytes of r (taken over) into buf[0..n), returning as soon as there are some. Waits at
 * most timeout_ms for them in all, without a bound when timeout_ms < 0. Returns their number, 0 at
 * the body's end, -1 when the connection failed or broke the protocol (the web server aborted the
 * request: the client went away), -2 when the time ran out.
 */
static ssize_t fcgi_body_read(FCGX_Request *r, char *buf, size_t n, int timeout_ms)
{
	long long deadline = timeout_ms >= 0 ? fcgi_now_ms() + timeout_ms : -1, wait;
	struct pollfd pfd = { r->ipcFd, POLLIN, 0 };
	size_t got, used;
	ssize_t k;
	int rc;

	if (n == 0)
		return 0;
	while (fcgi_in.err == 0) {
		if (fcgi_in.ahead_pos < fcgi_in.ahead_len) {
			used = fcgi_body_parse(r, fcgi_in.ahead + fcgi_in.ahead_pos,
			                       fcgi_in.ahead_len - fcgi_in.ahead_pos, buf, n, &got);
			fcgi_in.ahead_pos += used;
			if (got > 0)
				return (ssize_t)got;
			if (fcgi_in.eof || fcgi_in.err != 0)
				fcgi_in.ahead_pos = fcgi_in.ahead_len;
			continue;
		}
		if (fcgi_in.eof)
			return 0;
		k = recv(r->ipcFd, buf, n, MSG_DONTWAIT);
		if (k > 0) {
			fcgi_body_parse(r, (const unsigned char *)buf, (size_t)k, buf, n, &got);
			if (got > 0)
				return (ssize_t)got;
			continue;
		}
		if (k == 0) {
			fcgi_in.err = FCGX_PROTOCOL_ERROR; /* the web server hung up before the last record */
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			fcgi_in.err = errno;
			break;
		}
		wait = deadline < 0 ? -1 : deadline - fcgi_now_ms();
		if (deadline >= 0 && wait <= 0)
			return -2;
		rc = poll(&pfd, 1, wait > INT_MAX ? INT_MAX : (int)wait);
		if (rc == 0)
			return -2;
		if (rc < 0 && errno != EINTR) {
			fcgi_in.err = errno;
			break;
		}
	}
	r->in->FCGI_errno = fcgi_in.err;
	return -1;
}

/* The body through libfcgi's reader: when it could not be taken over (fcgi_body_take). */
static ssize_t fcgi_read_libfcgi(FCGX_Request *r, char *buf, size_t n)
{
	int want = n > INT_MAX ? INT_MAX : (int)n;
	int got = FCGX_GetStr(buf, want, r->in);

	/* A short read is the end of the body, unless the stream reports an error (the web server
	 * aborted the request: the client went away). */
	if (got < want && FCGX_GetError(r->in) != 0)
		return -1;
	return got;
}

/*
 * fcgi_read_within through libfcgi's reader. FCGX_GetStr returns only once it has all n bytes or
 * the body has ended, and libfcgi reads the socket with no time limit: a client that sends one byte
 * every few seconds would hold this process for as long as it liked. So:
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
static ssize_t fcgi_read_within_libfcgi(FCGX_Request *r, char *buf, size_t n, int timeout_ms)
{
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

static ssize_t fcgi_read(void *ctx, char *buf, size_t n)
{
	FCGX_Request *r = ctx;

	if (fcgi_body_ours(r) || fcgi_body_take(r))
		return fcgi_body_read(r, buf, n, -1);
	return fcgi_read_libfcgi(r, buf, n);
}

/* The body read with a deadline (http_io.read_within): at most timeout_ms for the first byte. */
static ssize_t fcgi_read_within(void *ctx, char *buf, size_t n, int timeout_ms)
{
	FCGX_Request *r = ctx;

	if (fcgi_body_ours(r) || fcgi_body_take(r))
		return fcgi_body_read(r, buf, n, timeout_ms);
	return fcgi_read_within_libfcgi(r, buf, n, timeout_ms);
}

/* ---- the response body ----------------------------------------------------------------------- */

/* Body writes at least this large go out as our own STDOUT records (see fcgi_write_direct). */
#define FCGI_DIRECT_MIN (16 * 1024)
/* The largest record content FastCGI allows is 65535; a multiple of 8 keeps records aligned. */
#define FCGI_RECORD_MAX 65528
#define FCGI_STDOUT_TYPE 6

/*
 * The send buffer of a unix socket to the web server while a file is sent: 16 KiB asked (Linux
 * doubles it). sendfile(2) to a unix socket hands it page-cache pages, up to 64 KiB at once, while
 * the buffer is not full, so with this one about one record waits in the socket where the default
 * (208 KiB) let three. That matters to lighttpd 1.4 (mod_fastcgi, stream-response-body = 2): it
 * moves each complete record into its queue for the client, and writes the record to a temp file
 * instead (open, write, sendfile, close, unlink) when that queue would pass 64 KiB; once a temp
 * file is the queue's last chunk, every record after it goes there too (http_chunk.c,
 * http_chunk_uses_tempfile). With three records waiting, lighttpd read two or more at once while
 * its client still had the one before: about 890 temp files per 100 MiB, half of lighttpd's time.
 * With one, a record completes only when lighttpd reads again, which it does once its queue for
 * the client is down: a handful of temp files per 100 MiB (measured). Apache reads as it sends to
 * its client and only sees smaller reads.
 */
#define FCGI_FILE_SNDBUF (16 * 1024)

/* The 8-byte header of a STDOUT record of r with k bytes of content and no padding. */
static void fcgi_stdout_header(unsigned char h[8], const FCGX_Request *r, size_t k)
{
	h[0] = 1; /* FCGI_VERSION_1 */
	h[1] = FCGI_STDOUT_TYPE;
	h[2] = (unsigned char)((r->requestId >> 8) & 0xff);
	h[3] = (unsigned char)(r->requestId & 0xff);
	h[4] = (unsigned char)((k >> 8) & 0xff);
	h[5] = (unsigned char)(k & 0xff);
	h[6] = 0;
	h[7] = 0;
}

/* Writes all of iov[0..n) to fd, resuming after partial writes. Returns 0, or -1 (errno set) when
 * the connection failed: the web server closed it, the client is gone. */
static int fcgi_writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		/* Past what went out: whole entries, then into the first one left. */
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Writes n bytes as FastCGI STDOUT records of up to 64 KiB, with one writev each, straight to the
 * request's socket. libfcgi's own writer cuts everything into 8 KiB records, one write(2) each:
 * for a large body that is 8 times the system calls and records for the web server to parse.
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
		unsigned char h[8];
		struct iovec iov[2] = { { h, sizeof(h) }, { (void *)(uintptr_t)buf, k } };

		fcgi_stdout_header(h, r, k);
		if (fcgi_writev_all(r->ipcFd, iov, 2) != 0)
			return -1;
		buf += k;
		n -= k;
	}
	return 0;
}

/* Whether errno, after a failed sendfile(2) or write(2) to the web server's socket, is about the
 * socket (the web server closed it) rather than the file. */
static bool fcgi_socket_errno(int e)
{
	return e == EPIPE || e == ECONNRESET || e == ENOTCONN || e == ESHUTDOWN || e == EAGAIN ||
	       e == EWOULDBLOCK || e == ETIMEDOUT;
}

/*
 * Sends k bytes of fd from *off to sock, the content of a record whose header is out, and advances
 * *off. sendfile(2) while *copy is false; where the file cannot be sent so (EINVAL, ENOSYS: no
 * page-cache reads for it) *copy is set and the rest goes through a buffer: pread and write.
 */
static enum fcgi_send_result fcgi_send_content(int sock, int fd, uint64_t *off, size_t k, bool *copy)
{
	static char buf[FCGI_RECORD_MAX];

	while (k > 0) {
		ssize_t w;

		if (!*copy) {
			off_t o = (off_t)*off;

			w = sendfile(sock, fd, &o, k);
			if (w < 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
				*copy = true;
				continue;
			}
		} else {
			w = pread(fd, buf, k, (off_t)*off);
			if (w > 0) {
				struct iovec iov = { buf, (size_t)w };
				if (fcgi_writev_all(sock, &iov, 1) != 0)
					return FCGI_SEND_CONN_FAILED;
			}
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0) {
			errno = 0; /* the file ended early: it was cut while being sent */
			return FCGI_SEND_FILE_FAILED;
		}
		if (w < 0)
			return fcgi_socket_errno(errno) ? FCGI_SEND_CONN_FAILED : FCGI_SEND_FILE_FAILED;
		*off += (uint64_t)w;
		k -= (size_t)w;
	}
	return FCGI_SEND_OK;
}

/* Narrows the send buffer of sock to FCGI_FILE_SNDBUF when it is a unix socket with a larger one.
 * Returns the size to give back to fcgi_sndbuf_restore, or 0 when nothing was changed. */
static int fcgi_sndbuf_narrow(int sock)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa), len = sizeof(int);
	int was = 0, want = FCGI_FILE_SNDBUF;

	if (getsockname(sock, (struct sockaddr *)&sa, &salen) != 0 || sa.ss_family != AF_UNIX ||
	    getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &was, &len) != 0 || was <= 2 * want ||
	    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)) != 0)
		return 0;
	return was;
}

/* Gives sock back the send buffer it had (should the web server keep the connection for another
 * request). Linux reports twice the size it was given, so half of what it reported is asked. */
static void fcgi_sndbuf_restore(int sock, int was)
{
	int v = was / 2;

	if (was > 0)
		(void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

static int fcgi_write(void *ctx, const char *buf, size_t n);

enum fcgi_send_result fcgi_io_send_file(const struct http_io *io, int fd, uint64_t off, uint64_t len)
{
	FCGX_Request *r;
	enum fcgi_send_result rc = FCGI_SEND_OK;
	bool copy = false;
	int sndbuf, err;

	if (io->write != fcgi_write)
		return FCGI_SEND_NOT_FASTCGI;
	r = io->ctx;
	if (FCGX_FFlush(r->out) != 0 || FCGX_GetError(r->out) != 0 || r->ipcFd < 0)
		return FCGI_SEND_CONN_FAILED;
	sndbuf = fcgi_sndbuf_narrow(r->ipcFd);
	while (len > 0 && rc == FCGI_SEND_OK) {
		size_t k = len > FCGI_RECORD_MAX ? FCGI_RECORD_MAX : (size_t)len;
		unsigned char h[8];
		struct iovec iov = { h, sizeof(h) };

		fcgi_stdout_header(h, r, k);
		if (fcgi_writev_all(r->ipcFd, &iov, 1) != 0)
			rc = FCGI_SEND_CONN_FAILED;
		else
			rc = fcgi_send_content(r->ipcFd, fd, &off, k, &copy);
		len -= k;
	}
	err = errno;
	if (rc != FCGI_SEND_OK)
		(void)shutdown(r->ipcFd, SHUT_RDWR);
	else
		fcgi_sndbuf_restore(r->ipcFd, sndbuf);
	errno = err;
	return rc;
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
