/* kv.h: the per-process Redis connection (hiredis), with connect and command timeouts. */
#ifndef MEDIAD_KV_H
#define MEDIAD_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "util/buf.h"

struct kv;

/* While Redis is down, each process tries to reconnect at most once per KV_RETRY_MS (each try
 * bounded by redis_timeout_ms); every other call fails at once. The outage is logged when it
 * starts, every KV_SUMMARY_S while it lasts, and when it ends: never once per request. */
#define KV_RETRY_MS 1000
#define KV_SUMMARY_S 60
/* EXPIRE ... NX (rate windows, the analytics cache) needs Redis 7. A connection to an older
 * server is refused like a server that is down. */
#define KV_MIN_MAJOR 7
#define KV_MGET_MAX 8

/* Caps of a redis_url: the whole URL, a host name, a unix socket path (sun_path less its NUL),
 * and the database number. */
#define KV_URL_MAX 2048
#define KV_HOST_MAX 253
#define KV_SOCKET_PATH_MAX 107
#define KV_DB_MAX 1000

/* A parsed redis_url. The strings are owned by it (kv_url_free). */
struct kv_url {
	char *host;     /* name or address (an IPv6 one without its brackets); NULL for a unix socket */
	char *path;     /* the unix socket path; NULL for TCP */
	char *password; /* percent-decoded; NULL when the URL has none */
	int port;       /* 6379 unless given; 0 for a unix socket */
	int dbnum;      /* 0 unless given */
};

/*
 * Parses url strictly, in one of two forms:
 *   redis://[:password@]host[:port][/db]   host: a name, an IPv4 address or [an IPv6 address]
 *   unix:/path/to/redis.sock[?db=N]        unix:///path is the same
 * The password is percent-decoded (write '@' as %40, '/' as %2F, '%' as %25); port (1..65535)
 * and db (0..KV_DB_MAX) are digits only. Anything else is refused: a second '@', a user name,
 * a sign or a space in a number, '?' or '#' in a redis:// URL, another unix: parameter.
 * Returns 0 with out filled, or -1 with out empty and one line in err ("redis_url: ..."), which
 * quotes no password.
 */
int kv_url_parse(const char *url, struct kv_url *out, char *err, size_t errlen)
        __attribute__((warn_unused_result));
/* Frees the strings of u and empties it. */
void kv_url_free(struct kv_url *u);

/*
 * Creates a handle for url (see kv_url_parse). Connects lazily. Returns NULL and fills err when
 * the URL is malformed. An empty (or NULL) url makes a handle for no Redis at all: every call
 * fails at once with MERR_UNAVAILABLE, logs nothing and never connects, so every caller takes the
 * path it takes while Redis is down (per-process rate limits, no analytics cache, revocations read
 * from PostgreSQL), for good.
 */
struct kv *kv_new(const char *url, int timeout_ms, char *err, size_t errlen);
void kv_free(struct kv *kv);

/*
 * What a server answers at start-up: KV_PROBE_OK, KV_PROBE_DOWN (cannot be reached: not fatal, the
 * responder runs without Redis until it is back), KV_PROBE_TOO_OLD (older than KV_MIN_MAJOR) or
 * KV_PROBE_OFF (no redis_url: nothing was tried). msg gets one line: the version, or why not.
 * Logs nothing: the caller says it.
 */
enum kv_probe { KV_PROBE_OK, KV_PROBE_DOWN, KV_PROBE_TOO_OLD, KV_PROBE_OFF };
enum kv_probe kv_check(struct kv *kv, char *msg, size_t n);
/* False when the handle was made from an empty redis_url (no Redis, see kv_new). */
bool kv_configured(const struct kv *kv);
/* The run_id of the server the handle is connected to now (it changes at every Redis start), or
 * NULL when not connected. Valid until the next call on kv. */
const char *kv_server_id(const struct kv *kv);

/* Each call returns MERR_OK or MERR_UNAVAILABLE: Redis down, too slow, too old, or answering with
 * an error reply (every reply is checked); the connection is then dropped and reopened later, see
 * KV_RETRY_MS. */
/*
 * For a call whose failure has a fallback (a cache that expires, a counter that ends with its window,
 * a marker that is then not trusted): the result is consumed here on purpose. kv itself logs Redis
 * going down and coming back, once each, so nothing is lost by not logging again.
 */
static inline void kv_best_effort(enum merr err)
{
	(void)err;
}

enum merr kv_ping(struct kv *kv) __attribute__((warn_unused_result));
enum merr kv_set_ex(struct kv *kv, const char *key, const char *val, size_t len, long long ttl_s)
        __attribute__((warn_unused_result));
/* *found is set to whether key exists. */
enum merr kv_exists(struct kv *kv, const char *key, bool *found) __attribute__((warn_unused_result));
/* *found false leaves out untouched. */
enum merr kv_get(struct kv *kv, const char *key, struct buf *out, bool *found)
        __attribute__((warn_unused_result));
enum merr kv_del(struct kv *kv, const char *key) __attribute__((warn_unused_result));
/*
 * Fixed-window counter: INCR key, and on the first hit EXPIRE it window_s. *count gets the count
 * and *ttl_s the seconds left in the window.
 */
enum merr kv_incr_window(struct kv *kv, const char *key, long long window_s, long long *count,
                         long long *ttl_s) __attribute__((warn_unused_result));

/* HGET key field into out; *found false when either is missing. */
enum merr kv_hget(struct kv *kv, const char *key, const char *field, struct buf *out, bool *found)
        __attribute__((warn_unused_result));
/*
 * A cache that writers invalidate by generation, in one round trip: reads the generation gen_key
 * holds ("0" when absent) into gen (KV_GEN_MAX bytes) and field of the hash "<prefix>:<gen>" into
 * out (*found). A reader stores what it computed under the generation it read *before* computing,
 * so an answer computed before a writer's kv_gen_bump can never be served after it.
 */
#define KV_GEN_MAX 24
enum merr kv_hget_gen(struct kv *kv, const char *gen_key, const char *prefix, const char *field, char *gen,
                      struct buf *out, bool *found) __attribute__((warn_unused_result));
/* Moves gen_key's generation on (INCR) and keeps it ttl_s seconds (longer than any entry's). */
enum merr kv_gen_bump(struct kv *kv, const char *gen_key, long long ttl_s)
        __attribute__((warn_unused_result));
/* HSET key field val, and give key a TTL of ttl_s only if it has none yet (EXPIRE NX): the whole
 * hash lives ttl_s from its first field. One round trip. */
enum merr kv_hset_ttl(struct kv *kv, const char *key, const char *field, const char *val, size_t len,
                      long long ttl_s) __attribute__((warn_unused_result));
/* MGET of n keys (1..KV_MGET_MAX) in one round trip: found[i] says whether key i exists, and its
 * value is appended to vals[i]. MERR_INTERNAL on out of memory. */
enum merr kv_mget(struct kv *kv, int n, const char *const *keys, struct buf *vals, bool *found)
        __attribute__((warn_unused_result));
/* SET key val NX EX ttl_s: *set says whether the key was free and is now ours. */
enum merr kv_set_nx_ex(struct kv *kv, const char *key, const char *val, long long ttl_s, bool *set)
        __attribute__((warn_unused_result));
/* SET keys[i] val EX ttls[i] for n keys, pipelined: one round trip. Keep n to a few thousand. */
enum merr kv_set_ex_batch(struct kv *kv, int n, const char *const *keys, const long long *ttls,
                          const char *val) __attribute__((warn_unused_result));
/*
 * SET key val EX ttl_s only if guard holds guard_val and nobody writes guard (nor flushes the
 * database) before the SET runs: WATCH guard, GET guard, MULTI, SET, EXEC. *done says whether it
 * was set.
 */
enum merr kv_set_ex_if(struct kv *kv, const char *guard, const char *guard_val, const char *key,
                       const char *val, long long ttl_s, bool *done) __attribute__((warn_unused_result));
/*
 * Server-assisted client-side caching (Redis 6+ CLIENT TRACKING, BCAST mode). A process may keep
 * local copies of keys under the given prefixes and serve them without a round trip, because Redis
 * tells it of every change to such a key on a second connection, the invalidation connection
 * (subscribed to __redis__:invalidate; the command connection redirects its tracking to it).
 *
 * kv_track_init sets the prefixes and the callback that drops local copies: fn(arg, key, len) for
 * one key, fn(arg, NULL, 0) for everything (a flush, a lost connection, a new command connection).
 * kv_track_sync, before each use of the copies, reads pending invalidations without blocking and
 * turns tracking on for the command connection now in use; it returns true when the copies may be
 * used. A value read through kv may be kept only if kv_track_epoch was the same before the read
 * and after it (nothing was lost in between).
 *
 * A writer whose change must be seen by every process before it answers follows the write with
 * kv_ping: Redis sends the invalidations of a command before it reads the next command of the same
 * client, so once the PING answers, they sit in every reader's socket.
 */
#define KV_TRACK_PREFIX_MAX 4
#define KV_TRACK_RETRY_S 60 /* after the server refused tracking, or its connection failed */
typedef void kv_inval_fn(void *arg, const char *key, size_t len);
int kv_track_init(struct kv *kv, int nprefix, const char *const *prefix, kv_inval_fn *fn, void *arg)
        __attribute__((warn_unused_result));
bool kv_track_sync(struct kv *kv);
unsigned long long kv_track_epoch(const struct kv *kv);

/* One field of INFO section ("memory", "maxmemory_policy") into out; *found false if absent. */
enum merr kv_info(struct kv *kv, const char *section, const char *field, char *out, size_t n, bool *found)
        __attribute__((warn_unused_result));

#endif
