/* cors.h: cross-origin access for browser apps: the cors_origins list, its headers and preflights. */
#ifndef MEDIAD_CORS_H
#define MEDIAD_CORS_H

#include <stdbool.h>
#include <stddef.h>

struct http_response;

/* Seconds a browser may keep a preflight answer (Chromium caps it at 7200, Firefox at 86400). */
#define CORS_MAX_AGE 600
/* Longest origin in cors_origins; an Origin header longer than this is never allowed. */
#define CORS_ORIGIN_MAX 300
/* Most origins cors_origins may list. */
#define CORS_MAX_ORIGINS 64

/* Request headers a page may send (a preflight is answered with this list whatever it asked for). */
#define CORS_ALLOW_HEADERS                                                                 \
	"Authorization, Content-Type, Range, If-Range, If-None-Match, If-Modified-Since, " \
	"Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata, Upload-Checksum, "  \
	"Upload-Defer-Length"
/* Response headers a page may read besides the safelisted ones (Content-Type, Last-Modified...):
 * a tus client (tus-js-client) reads Location, Upload-* and Tus-*, and Mediad-Resource says where
 * its media is. */
#define CORS_EXPOSE_HEADERS                                                                      \
	"Accept-Ranges, Allow, Content-Length, Content-Range, ETag, Location, RateLimit-Limit, " \
	"RateLimit-Remaining, RateLimit-Reset, Retry-After, WWW-Authenticate, X-Request-Id, "    \
	"Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, "      \
	"Upload-Offset, Upload-Length, Upload-Expires, Upload-Metadata, Mediad-Resource"

/*
 * Checks a cors_origins value: "*" alone, or origins ("scheme://host[:port]", no path, no
 * trailing slash) separated by commas and/or blanks; blank allows no origin at all. Returns 0, or
 * -1 with a message naming the bad entry in err.
 */
int cors_check_origins(const char *origins, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Whether origins (a checked cors_origins value) lets in origin, an Origin header (NULL: false).
 * "*" lets in every origin; a list only its own entries, compared without case. */
bool cors_origin_allowed(const char *origins, const char *origin);

/*
 * Adds what every answer carries, before anything is sent (streamed answers too): with "*",
 * Access-Control-Allow-Origin: * and Access-Control-Expose-Headers, whether or not the request has
 * an Origin; with a list, Vary: Origin always, and for an allowed origin that origin echoed and
 * the expose list. Access-Control-Allow-Credentials is never sent: tokens travel in Authorization,
 * never in cookies. Returns whether origin is allowed (false when it is NULL).
 */
bool cors_response_headers(const char *origins, const char *origin, struct http_response *resp);

/*
 * Answers OPTIONS on a path whose routes accept methods ("GET, HEAD, POST"), after
 * cors_response_headers. A CORS preflight (origin and request_method both non-NULL) from an
 * allowed origin gets 204 with Access-Control-Allow-Methods (methods), -Allow-Headers
 * (CORS_ALLOW_HEADERS) and -Max-Age; from a refused origin a JSON 403 that names cors_origins and
 * no permission. Any other OPTIONS gets 204. Every answer has Allow: methods and OPTIONS.
 */
void cors_options(const char *origin, const char *request_method, bool allowed, const char *methods,
                  struct http_response *resp);

#endif
