/* fcgi_io.h: the libfcgi transport under struct http_io; the only place that sees FCGX types. */
#ifndef MEDIAD_FCGI_IO_H
#define MEDIAD_FCGI_IO_H

#include <fcgiapp.h>

#include "http/request.h"

/* Points io at the streams and parameters of r. io->ctx is r; both must outlive the request. */
void fcgi_io_init(struct http_io *io, FCGX_Request *r);

#endif
