/* dispatch.h: one request through the router, the middleware and a handler, then logged. */
#ifndef MEDIAD_DISPATCH_H
#define MEDIAD_DISPATCH_H

#include "http/request.h"

struct app;

/* Serves one request over io: never fails, every error becomes a JSON response. */
void dispatch_request(struct app *app, const struct http_io *io);

#endif
