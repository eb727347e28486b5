/* file_body.h: a byte range of a file as the body of a streamed response. */
#ifndef MEDIAD_FILE_BODY_H
#define MEDIAD_FILE_BODY_H

#include <stdint.h>

struct http_request;
struct http_response;

enum file_body_result {
	FILE_BODY_SENT = 0,
	FILE_BODY_CLIENT_GONE, /* the connection to the client failed: nothing to log */
	FILE_BODY_READ_FAILED  /* the file could not be read (errno), or ended early (errno 0) */
};

/*
 * Sends bytes off .. off + len - 1 of the open file fd as the body of resp, after resp_begin; a HEAD
 * answer gets none. Under FastCGI the bytes go from the page cache to the web server's socket
 * without passing through this process (fcgi_io_send_file: 64 KiB records, sendfile(2)); over
 * another transport (the unit tests' buffers) they are read and given to resp_write in 64 KiB
 * pieces. Either way memory use does not grow with len, and each write waits on the socket only as
 * long as the web server keeps the connection. fd stays the caller's, its offset unused. After
 * anything but FILE_BODY_SENT the body was cut short and nothing more may be written.
 */
enum file_body_result file_body_send(struct http_request *req, struct http_response *resp, int fd,
                                     uint64_t off, uint64_t len) __attribute__((warn_unused_result));

#endif
