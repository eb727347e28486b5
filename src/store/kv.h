/* kv.h: the per-process Redis connection (hiredis), with connect and command timeouts. */
#ifndef MEDIAD_KV_H
#define MEDIAD_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "util/buf.h"

struct kv;

/*
 * Creates a handle for url: redis://[:password@]host[:port][/db] or unix:/path[?db=N].
 * Connects lazily. Returns NULL and fills err when the URL is malformed.
 */
struct kv *kv_new(const char *url, int timeout_ms, char *err, size_t errlen);
void kv_free(struct kv *kv);

/* Each call returns MERR_OK or MERR_UNAVAILABLE (Redis down; the connection is dropped and
 * retried on the next call). */
enum merr kv_ping(struct kv *kv);
enum merr kv_set_ex(struct kv *kv, const char *key, const char *val, size_t len, long long ttl_s);
/* *found is set to whether key exists. */
enum merr kv_exists(struct kv *kv, const char *key, bool *found);
/* *found false leaves out untouched. */
enum merr kv_get(struct kv *kv, const char *key, struct buf *out, bool *found);
enum merr kv_del(struct kv *kv, const char *key);
/*
 * Fixed-window counter: INCR key, and on the first hit EXPIRE it window_s. *count gets the count
 * and *ttl_s the seconds left in the window.
 */
enum merr kv_incr_window(struct kv *kv, const char *key, long long window_s, long long *count,
                         long long *ttl_s);

/* HGET key field into out; *found false when either is missing. */
enum merr kv_hget(struct kv *kv, const char *key, const char *field, struct buf *out, bool *found);
/* HSET key field val, and give key a TTL of ttl_s only if it has none yet (EXPIRE NX): the whole
 * hash lives ttl_s from its first field. One round trip. */
enum merr kv_hset_ttl(struct kv *kv, const char *key, const char *field, const char *val, size_t len,
                      long long ttl_s);

#endif
