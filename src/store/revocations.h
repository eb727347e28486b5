/* revocations.h: revoked login tokens: rows in PostgreSQL (the truth), a copy in Redis (the fast path). */
#ifndef MEDIAD_REVOCATIONS_H
#define MEDIAD_REVOCATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

struct db;
struct kv;

/*
 * The Redis copy. A revoked token id is the key REVOCATIONS_KEY_PREFIX<jti>, living as long as the
 * token could be accepted. A hit means revoked. A miss means "not revoked" only while the key
 * REVOCATIONS_READY_KEY holds the run_id of the Redis server answering: it is set, with a TTL,
 * after every unexpired revocation was copied from PostgreSQL (under REVOCATIONS_WARM_LOCK_KEY,
 * and not at all when a FLUSHALL or FLUSHDB ran meanwhile). A flush deletes it; a Redis restart,
 * even one that reloads a snapshot, changes the run_id; so after either a miss is never trusted
 * and PostgreSQL is asked (one lookup by primary key) until the copy is whole again. The same
 * happens while Redis is down, or when it may evict keys (maxmemory with an evicting policy).
 */
#define REVOCATIONS_KEY_PREFIX "mediad:revoked:"
#define REVOCATIONS_READY_KEY "mediad:revocations:ready"
#define REVOCATIONS_WARM_LOCK_KEY "mediad:revocations:warming"
/* The marker lives REVOCATIONS_READY_TTL seconds, then the copy is checked whole again: this also
 * bounds how long a responder that failed to write its copy (Redis unreachable for it alone) can
 * leave a revoked token accepted by the others, should it not reach Redis to drop the marker. */
#define REVOCATIONS_READY_TTL 60
#define REVOCATIONS_WARM_LOCK_TTL 30 /* one responder fills the copy at a time */
#define REVOCATIONS_WARM_RETRY_S 5   /* a responder tries to fill it at most this often */
#define REVOCATIONS_WARM_MAX 100000  /* more revocations in force: no marker, PostgreSQL answers */
#define REVOCATIONS_WARM_BATCH 1000  /* keys per pipelined round trip */
/* A responder's local copy of "not revoked" trusts the marker's vouch at most this long after it
 * read the marker (each token then costs one MGET again): the marker's TTL keeps its meaning. */
#define REVOCATIONS_LOCAL_TRUST_S 5

/*
 * Revokes token jti of user_id until `until` (Unix time; exp plus the clock-skew leeway): inserts
 * the row (pruning up to 100 expired ones), then copies it into Redis. Returns MERR_OK once the
 * row is committed, whatever Redis did; a Redis that could not take the copy loses its ready
 * marker (now, or on this process's next call that reaches it). Otherwise the error of the insert
 * (MERR_UNAVAILABLE: PostgreSQL down), and nothing is revoked.
 */
enum merr revocations_add(struct db *db, struct kv *kv, const char *jti, int64_t user_id, time_t until)
        __attribute__((warn_unused_result));
/*
 * Sets *revoked for token jti: from Redis when it can answer with authority (see above), else from
 * PostgreSQL, and then fills the Redis copy if it is incomplete. Returns MERR_OK, or
 * MERR_UNAVAILABLE when neither can answer (a token that cannot be checked is never accepted).
 */
enum merr revocations_check(struct db *db, struct kv *kv, const char *jti, bool *revoked)
        __attribute__((warn_unused_result));
/* The Redis key of jti into out (>= 64 bytes). */
void revocations_key(const char *jti, char *out, size_t outlen);

#endif
