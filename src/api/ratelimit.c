/* ratelimit.c: one Redis round trip per check (INCR + EXPIRE NX + TTL, pipelined). */
#include "config.h"

#include "api/ratelimit.h"

#include "app.h"
#include "store/kv.h"

bool ratelimit_hit(struct http_request *req, struct http_response *resp, const char *key, long long limit,
                   long long window_s, bool headers)
{
	long long count = 0, ttl = window_s;

	if (kv_incr_window(req->app->kv, key, window_s, &count, &ttl) != MERR_OK) {
		resp_error(resp, MERR_UNAVAILABLE, NULL, "rate limiting is unavailable; try again shortly");
		return false;
	}
	if (ttl < 1)
		ttl = 1;
	if (count > limit || headers) {
		resp_header(resp, "RateLimit-Limit", "%lld", limit);
		resp_header(resp, "RateLimit-Remaining", "%lld", count > limit ? 0 : limit - count);
		resp_header(resp, "RateLimit-Reset", "%lld", ttl);
	}
	if (count > limit) {
		resp_header(resp, "Retry-After", "%lld", ttl);
		resp_error(resp, MERR_RATE_LIMITED, NULL, "too many requests; retry in %lld s", ttl);
		return false;
	}
	return true;
}
