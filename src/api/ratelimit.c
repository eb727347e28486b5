/* ratelimit.c: one Redis round trip per check (INCR + EXPIRE NX + TTL, pipelined); while Redis is
 * down, or without one, a small table of fixed windows in this process. */
#include "config.h"

#include "api/ratelimit.h"

#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "store/kv.h"

/* One counter of the local table. h == 0 is a free slot. */
struct rl_slot {
	uint64_t h;
	long long start_s, window_s, count;
};

static struct rl_slot rl_table[RATELIMIT_LOCAL_SLOTS];
static unsigned char rl_hkey[crypto_shorthash_KEYBYTES];
static bool rl_hkey_set;

/* Keys are hashed with SipHash under a per-process random key: a client cannot choose keys that
 * collide into one run of slots. */
static uint64_t rl_hash(const char *key)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	if (!rl_hkey_set) {
		crypto_shorthash_keygen(rl_hkey);
		rl_hkey_set = true;
	}
	crypto_shorthash(out, (const unsigned char *)key, strlen(key), rl_hkey);
	memcpy(&h, out, sizeof(h));
	return h != 0 ? h : 1;
}

static bool rl_idle(const struct rl_slot *c, long long now_s)
{
	return c->h == 0 || now_s >= c->start_s + c->window_s;
}

/* Whether c is a better slot to take over than v: a free or finished one first, else the one with
 * the fewest hits, so a flood of fresh keys evicts quiet counters, not the busy ones. */
static bool rl_better_victim(const struct rl_slot *c, const struct rl_slot *v, long long now_s)
{
	if (rl_idle(v, now_s))
		return false;
	if (rl_idle(c, now_s))
		return true;
	return c->count < v->count;
}

void ratelimit_local_hit(const char *key, long long window_s, long long now_s, long long *count,
                         long long *ttl_s)
{
	uint64_t h = rl_hash(key);
	struct rl_slot *s = NULL, *victim = NULL;
	size_t i, at = (size_t)(h % RATELIMIT_LOCAL_SLOTS);

	for (i = 0; i < RATELIMIT_LOCAL_PROBE && s == NULL; i++) {
		struct rl_slot *c = &rl_table[(at + i) % RATELIMIT_LOCAL_SLOTS];

		if (c->h == h)
			s = c;
		else if (victim == NULL || rl_better_victim(c, victim, now_s))
			victim = c;
	}
	if (s == NULL) {
		s = victim;
		s->h = h;
		s->start_s = now_s;
		s->window_s = window_s;
		s->count = 0;
	}
	if (now_s >= s->start_s + s->window_s || s->window_s != window_s) {
		s->start_s = now_s;
		s->window_s = window_s;
		s->count = 0;
	}
	s->count++;
	*count = s->count;
	*ttl_s = s->start_s + s->window_s - now_s;
}

void ratelimit_local_clear(const char *key)
{
	uint64_t h = rl_hash(key);
	size_t i, at = (size_t)(h % RATELIMIT_LOCAL_SLOTS);

	for (i = 0; i < RATELIMIT_LOCAL_PROBE; i++) {
		struct rl_slot *c = &rl_table[(at + i) % RATELIMIT_LOCAL_SLOTS];

		if (c->h == h) {
			memset(c, 0, sizeof(*c));
			return;
		}
	}
}

void ratelimit_clear(struct http_request *req, const char *key)
{
	kv_best_effort(kv_del(req->app->kv, key));
	ratelimit_local_clear(key);
}

bool ratelimit_answer(struct http_response *resp, long long limit, long long count, long long ttl_s,
                      bool headers)
{
	if (ttl_s < 1)
		ttl_s = 1;
	if (count > limit || headers) {
		resp_header(resp, "RateLimit-Limit", "%lld", limit);
		resp_header(resp, "RateLimit-Remaining", "%lld", count > limit ? 0 : limit - count);
		resp_header(resp, "RateLimit-Reset", "%lld", ttl_s);
	}
	if (count > limit) {
		resp_header(resp, "Retry-After", "%lld", ttl_s);
		resp_error(resp, MERR_RATE_LIMITED, NULL, "too many requests; retry in %lld s", ttl_s);
		return false;
	}
	return true;
}

bool ratelimit_hit_local(struct http_response *resp, const char *key, long long limit, long long window_s,
                         bool headers)
{
	long long count = 0, ttl = window_s;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ratelimit_local_hit(key, window_s, (long long)ts.tv_sec, &count, &ttl);
	return ratelimit_answer(resp, limit, count, ttl, headers);
}

bool ratelimit_hit(struct http_request *req, struct http_response *resp, const char *key, long long limit,
                   long long window_s, bool headers)
{
	long long count = 0, ttl = window_s;

	/* Redis is down (it logs that once) or not configured (kv tried nothing): count in this
	 * process instead, so the limit still holds, per responder. */
	if (kv_incr_window(req->app->kv, key, window_s, &count, &ttl) != MERR_OK)
		return ratelimit_hit_local(resp, key, limit, window_s, headers);
	return ratelimit_answer(resp, limit, count, ttl, headers);
}
