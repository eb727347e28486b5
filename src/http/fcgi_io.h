/* fcgi_io.h: the libfcgi transport under struct http_io; the only place that sees FCGX types. */
#ifndef MEDIAD_FCGI_IO_H
#define MEDIAD_FCGI_IO_H

#include <fcgiapp.h>
#include <stdint.h>

#include "http/request.h"

/* Points io at the streams and parameters of r. io->ctx is r; both must outlive the request. */
void fcgi_io_init(struct http_io *io, FCGX_Request *r);

/* What fcgi_io_send_file did. */
enum fcgi_send_result {
	FCGI_SEND_OK = 0,
	FCGI_SEND_CONN_FAILED, /* the web server's connection failed: the client went away */
	FCGI_SEND_FILE_FAILED, /* the file could not be read (errno says why; 0: it ended early) */
	FCGI_SEND_NOT_FASTCGI  /* io is not fcgi_io_init's: nothing was sent */
};

/*
 * Sends len bytes of the open file fd, from offset off, as response body of the request io carries
 * (after resp_begin: libfcgi's buffered headers go first). The body leaves in FastCGI STDOUT
 * records of up to 64 KiB, each an 8-byte header written to the request's socket and then its
 * content by sendfile(2) straight from the page cache (pread and write where the file cannot be
 * sent so). While it sends, a unix socket's send buffer is narrowed so that less than one record
 * waits for the web server: see FCGI_FILE_SNDBUF. Every write blocks on the socket only as long as
 * the web server lets it (it closes the connection when its client stalls past its own write
 * timeout: lighttpd server.max-write-idle, Apache Timeout). fd's offset is not used or moved.
 * On any failure the connection is shut down, so that the web server sees the answer cut short
 * (a record may have been left half sent) and nothing more is written to it.
 */
enum fcgi_send_result fcgi_io_send_file(const struct http_io *io, int fd, uint64_t off, uint64_t len)
        __attribute__((warn_unused_result));

#endif
