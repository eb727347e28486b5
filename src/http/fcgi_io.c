/* fcgi_io.c: http_io over an accepted FCGX_Request. */
#include "config.h"

#include "http/fcgi_io.h"

#include <limits.h>

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

static int fcgi_write(void *ctx, const char *buf, size_t n)
{
	FCGX_Request *r = ctx;

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
