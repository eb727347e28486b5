/* ratelimit.h: fixed-window rate limits kept in Redis, or in the process while Redis is down or
 * when there is none (redis_url empty). */
#ifndef MEDIAD_RATELIMIT_H
#define MEDIAD_RATELIMIT_H

#include <stdbool.h>

#include "http/request.h"
#include "http/response.h"

/* The per-process table used while Redis is down, and always without Redis: RATELIMIT_LOCAL_SLOTS
 * counters (32 bytes each, 128 KiB in all, never more), a key looked up among
 * RATELIMIT_LOCAL_PROBE neighbouring slots. */
#define RATELIMIT_LOCAL_SLOTS 4096
#define RATELIMIT_LOCAL_PROBE 16

/*
 * Counts one hit on key (a window of window_s seconds, at most limit hits). Returns true when the
 * hit is allowed. Otherwise sets a 429 `rate_limited` with Retry-After and RateLimit-Limit,
 * RateLimit-Remaining and RateLimit-Reset, and returns false. With headers, an allowed hit also
 * gets the RateLimit-* headers. The window is kept in Redis, shared by every responder; while Redis
 * cannot be reached, or when redis_url is empty, it is kept in this process (ratelimit_local_hit),
 * so with N responders a client may get up to N times limit hits through. Never a 503: Redis alone
 * never stops a route.
 */
bool ratelimit_hit(struct http_request *req, struct http_response *resp, const char *key, long long limit,
                   long long window_s, bool headers);
/* ratelimit_hit counting in this process only, whatever Redis does: for a caller whose own shared
 * count failed (the account lock's row in PostgreSQL, without Redis). */
bool ratelimit_hit_local(struct http_response *resp, const char *key, long long limit, long long window_s,
                         bool headers);
/*
 * The answer to a hit counted elsewhere (count hits in the window, ttl_s seconds left in it): true
 * when count is within limit; otherwise the 429 and its headers as ratelimit_hit sets them, and
 * false. headers as for ratelimit_hit.
 */
bool ratelimit_answer(struct http_response *resp, long long limit, long long count, long long ttl_s,
                      bool headers);
/*
 * The per-process fixed window of key at now_s (monotonic seconds): counts one hit, sets *count to
 * the hits in the window and *ttl_s to the seconds left in it. The table is bounded: when a key's
 * neighbourhood is full, the counter with the fewest hits (a finished window first) is reused.
 */
void ratelimit_local_hit(const char *key, long long window_s, long long now_s, long long *count,
                         long long *ttl_s);
/* Forgets key's per-process counter, if it has one: its next hit starts a new window. */
void ratelimit_local_clear(const char *key);
/*
 * Clears key's window everywhere it may be counted: in Redis (best effort) and in this process,
 * so the next hit counts from one. For counters of failures that a success ends (login).
 */
void ratelimit_clear(struct http_request *req, const char *key);

#endif
