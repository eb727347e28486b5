/* analytics_cache.h: the Redis cache of GET /media/:id/analytics answers, per media and range. */
#ifndef MEDIAD_ANALYTICS_CACHE_H
#define MEDIAD_ANALYTICS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/kv.h"
#include "util/buf.h"

struct json_object;

/*
 * The layout, which tests/integration/test_analytics.c checks:
 *   mediad:analytics:gen:<media id>              the generation, moved on by analytics_cache_drop
 *   mediad:analytics:media:<media id>:<gen>      a hash: field "<from>:<to>" (either may be empty),
 *                                                value "<owner user id>\n<JSON text>"
 * Entries live ANALYTICS_CACHE_TTL seconds from a hash's first field; a generation key lives
 * ANALYTICS_GEN_TTL. Redis down is never an error here: a miss, and nothing stored.
 */
#define ANALYTICS_CACHE_TTL 600
/* A generation a day: far longer than any entry's ANALYTICS_CACHE_TTL. */
#define ANALYTICS_GEN_TTL 86400

/*
 * Looks up the answer for (media_id, from, to) cached for user_id; from and to may be NULL.
 * gen (KV_GEN_MAX bytes) always receives the generation read, "" when Redis could not be read:
 * hand it to analytics_cache_put. Returns true on a hit with json holding the JSON text and a
 * newline, as resp_json writes it (json is reset first). A hit needs no database at all: the
 * entry names its media's owner, which never changes; for anyone else it is a miss, so the
 * caller's ownership check answers them. On false json is empty.
 */
bool analytics_cache_get(struct kv *kv, int64_t media_id, int64_t user_id, const char *from, const char *to,
                         struct buf *json, char *gen);
/*
 * Stores answer for (media_id, from, to) and user_id under gen, the generation analytics_cache_get
 * read before the database was: if a view or a delete moved it on meanwhile, the entry lands where
 * nobody looks. An empty gen (Redis was down) stores nothing. Best effort: failures are dropped.
 */
void analytics_cache_put(struct kv *kv, int64_t media_id, int64_t user_id, const char *from, const char *to,
                         const char *gen, struct json_object *answer);
/*
 * Makes every cached answer of media_id unreachable (a view was recorded, or the media is gone)
 * by moving its generation on. Redis down: the entries expire on their own within
 * ANALYTICS_CACHE_TTL (and a Redis that restarted has lost them anyway).
 */
void analytics_cache_drop(struct kv *kv, int64_t media_id);

#endif
