/* tus.h: resumable uploads (tus 1.0.0) on /uploads; the handlers are in handlers.h. */
#ifndef MEDIAD_TUS_H
#define MEDIAD_TUS_H

#include "http/request.h"
#include "http/response.h"

/*
 * Adds to the answer of OPTIONS req (answered by the dispatcher for every path) what tus clients
 * ask OPTIONS /uploads for: Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size
 * (upload_max_bytes) and Tus-Checksum-Algorithm. Other paths are left alone.
 */
void tus_options(struct http_request *req, struct http_response *resp);
/*
 * Adds Tus-Resumable to every answer to a tus route (/uploads and below), whatever answers it:
 * the handlers, and the dispatcher's 401, 404, 405 and OPTIONS. Other paths are left alone.
 */
void tus_route_headers(const struct http_request *req, struct http_response *resp);

#endif
