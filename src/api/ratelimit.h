/* ratelimit.h: fixed-window rate limits kept in Redis. */
#ifndef MEDIAD_RATELIMIT_H
#define MEDIAD_RATELIMIT_H

#include <stdbool.h>

#include "http/request.h"
#include "http/response.h"

/*
 * Counts one hit on key (a window of window_s seconds, at most limit hits). Returns true when the
 * hit is allowed. Otherwise sets a 429 `rate_limited` with Retry-After and RateLimit-Limit,
 * RateLimit-Remaining and RateLimit-Reset, or a 503 when Redis cannot be reached (a limit that
 * cannot be checked is not skipped), and returns false. With headers, an allowed hit also gets the
 * RateLimit-* headers.
 */
bool ratelimit_hit(struct http_request *req, struct http_response *resp, const char *key, long long limit,
                   long long window_s, bool headers);

#endif
