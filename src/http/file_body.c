/* file_body.c: a byte range of a file as a response body: from the page cache under FastCGI. */
#include "config.h"

#include "http/file_body.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "http/fcgi_io.h"
#include "http/request.h"
#include "http/response.h"

/* A piece of the body where it is copied (transports other than FastCGI). */
#define FILE_BODY_CHUNK (64 * 1024)

/* The body read into a buffer of our own and written with resp_write, piece by piece. */
static enum file_body_result file_body_copy(struct http_request *req, struct http_response *resp, int fd,
                                            uint64_t off, uint64_t len)
{
	static char chunk[FILE_BODY_CHUNK];

	while (len > 0) {
		size_t want = len < sizeof(chunk) ? (size_t)len : sizeof(chunk);
		ssize_t n = pread(fd, chunk, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = 0;
		if (n <= 0)
			return FILE_BODY_READ_FAILED;
		if (resp_write(req, resp, chunk, (size_t)n) != 0)
			return FILE_BODY_CLIENT_GONE;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return FILE_BODY_SENT;
}

enum file_body_result file_body_send(struct http_request *req, struct http_response *resp, int fd,
                                     uint64_t off, uint64_t len)
{
	if (resp->head_only || len == 0)
		return FILE_BODY_SENT;
	if (resp->client_gone)
		return FILE_BODY_CLIENT_GONE;
	/* Read ahead twice as far as by default: the file is read once, start to end. */
	(void)posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_SEQUENTIAL);
	switch (fcgi_io_send_file(req->io, fd, off, len)) {
	case FCGI_SEND_OK:
		return FILE_BODY_SENT;
	case FCGI_SEND_CONN_FAILED:
		resp->client_gone = true;
		return FILE_BODY_CLIENT_GONE;
	case FCGI_SEND_FILE_FAILED:
		resp->client_gone = true; /* fcgi_io_send_file shut the connection down */
		return FILE_BODY_READ_FAILED;
	case FCGI_SEND_NOT_FASTCGI:
		break;
	}
	return file_body_copy(req, resp, fd, off, len);
}
