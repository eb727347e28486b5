/* revocations.c: logged-out tokens in PostgreSQL, copied into Redis; a Redis miss is trusted only
 * while the copy is provably whole. */
#include "config.h"

#include "store/revocations.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/db.h"
#include "store/kv.h"
#include "store/params.h"
#include "store/rows.h"
#include "util/buf.h"

/* Per process: a copy this process failed to write means the ready marker must go before any
 * Redis miss is trusted again; and when this process may next try to fill the copy. */
static bool drop_pending;
static long long warm_next_s;
static bool warned_evict, warned_many;

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * The local copy: tokens this process saw not revoked while the ready marker vouched for Redis's
 * copy, kept without a round trip for as long as Redis tracks the keys for us (kv_track_*: any
 * change to mediad:revoked:<jti> or to the marker reaches us before the next request is served,
 * and a lost connection drops it all). Direct-mapped: a collision replaces the older token, which
 * then just costs one MGET again.
 */
#define LOCAL_SLOTS 4096
#define LOCAL_JTI_MAX 48
static char local[LOCAL_SLOTS][LOCAL_JTI_MAX];
/* Until when (CLOCK_MONOTONIC ms) the marker's last vouch is trusted, unless it changes first (0:
 * not). Bounded, because Redis tells of a key's expiry only when it deletes the key, which may be
 * long after its TTL when nothing reads it: and with every token in the copy, nothing would. */
static long long local_vouched_until;
static struct kv *local_kv; /* the handle tracking was set up on (one per process) */

static size_t local_slot(const char *jti, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)jti[i]) * 1099511628211ULL;
	return (size_t)(h % LOCAL_SLOTS);
}

static void local_inval(void *arg, const char *key, size_t len)
{
	static const char pfx[] = REVOCATIONS_KEY_PREFIX, ready[] = REVOCATIONS_READY_KEY;
	char *slot;

	(void)arg;
	if (key == NULL) {
		memset(local, 0, sizeof(local));
		local_vouched_until = 0;
		return;
	}
	if (len == sizeof(ready) - 1 && memcmp(key, ready, len) == 0) {
		local_vouched_until = 0;
		return;
	}
	if (len <= sizeof(pfx) - 1 || len - (sizeof(pfx) - 1) >= LOCAL_JTI_MAX ||
	    memcmp(key, pfx, sizeof(pfx) - 1) != 0)
		return;
	key += sizeof(pfx) - 1;
	len -= sizeof(pfx) - 1;
	slot = local[local_slot(key, len)];
	if (strlen(slot) == len && memcmp(slot, key, len) == 0)
		slot[0] = '\0';
}

/* Sets up tracking on the first use of kv, and syncs it. True when the local copy may be used. */
static bool local_usable(struct kv *kv)
{
	static const char *const prefixes[] = { REVOCATIONS_KEY_PREFIX, REVOCATIONS_READY_KEY };

	if (local_kv == NULL) {
		if (kv_track_init(kv, 2, prefixes, local_inval, NULL) != 0)
			return false;
		local_kv = kv;
	}
	return kv == local_kv && kv_track_sync(kv);
}

static bool local_has(const char *jti)
{
	size_t len = strlen(jti);

	return mono_ms() < local_vouched_until && len < LOCAL_JTI_MAX &&
	       strcmp(local[local_slot(jti, len)], jti) == 0;
}

static void local_put(const char *jti)
{
	size_t len = strlen(jti);

	if (len < LOCAL_JTI_MAX)
		memcpy(local[local_slot(jti, len)], jti, len + 1);
}

void revocations_key(const char *jti, char *out, size_t outlen)
{
	snprintf(out, outlen, REVOCATIONS_KEY_PREFIX "%s", jti);
}

static long long mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* Drops the ready marker if a copy was lost. Returns true while it is still owed (Redis is then
 * not to be trusted by this process). */
static bool marker_drop_owed(struct kv *kv)
{
	if (!drop_pending)
		return false;
	if (kv_del(kv, REVOCATIONS_READY_KEY) != MERR_OK)
		return true;
	drop_pending = false;
	return false;
}

/* True when this Redis may evict keys (maxmemory set, with a policy other than noeviction): an
 * evicted revocation would be a miss, so the copy can never vouch for itself. */
static bool may_evict(struct kv *kv, bool *may)
{
	char v[64];
	bool found = false;

	*may = false;
	if (kv_info(kv, "memory", "maxmemory", v, sizeof(v), &found) != MERR_OK)
		return false;
	if (!found || strcmp(v, "0") == 0)
		return true;
	if (kv_info(kv, "memory", "maxmemory_policy", v, sizeof(v), &found) != MERR_OK)
		return false;
	*may = !found || strcmp(v, "noeviction") != 0;
	return true;
}

/*
 * Copies every revocation in force from PostgreSQL into Redis, then sets the ready marker to the
 * run_id of the server it wrote to, unless the guard lock was lost or the database flushed
 * meanwhile. Best effort: on any failure the marker stays absent and PostgreSQL keeps answering.
 */
static void warm(struct db *db, struct kv *kv)
{
	static char keys[REVOCATIONS_WARM_BATCH][64];
	static const char *kp[REVOCATIONS_WARM_BATCH];
	static long long ttls[REVOCATIONS_WARM_BATCH];
	unsigned char rnd[16];
	char lockval[33], sid[64];
	struct params p = PARAMS_INIT;
	const char *s;
	PGresult *r = NULL;
	bool got = false, evict = false, done = false;
	enum merr err;
	int i, n, k;

	if (mono_s() < warm_next_s)
		return;
	warm_next_s = mono_s() + REVOCATIONS_WARM_RETRY_S;
	s = kv_server_id(kv);
	if (s == NULL || strlen(s) >= sizeof(sid))
		return;
	memcpy(sid, s, strlen(s) + 1);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(lockval, sizeof(lockval), rnd, sizeof(rnd));
	err = kv_set_nx_ex(kv, REVOCATIONS_WARM_LOCK_KEY, lockval, REVOCATIONS_WARM_LOCK_TTL, &got);
	if (err != MERR_OK || !got)
		return;
	if (!may_evict(kv, &evict))
		goto out;
	if (evict) {
		if (!warned_evict)
			log_error("revocations: Redis may evict keys (maxmemory with a policy other than "
			          "noeviction): every token is checked in PostgreSQL");
		warned_evict = true;
		goto out;
	}
	params_int(&p, REVOCATIONS_WARM_MAX + 1);
	r = row_exec(db, "revocations_unexpired", &p, &err);
	if (r == NULL)
		goto out;
	n = PQntuples(r);
	if (n > REVOCATIONS_WARM_MAX) {
		if (!warned_many)
			log_error("revocations: more than %d tokens revoked and unexpired: every token is "
			          "checked in PostgreSQL",
			          REVOCATIONS_WARM_MAX);
		warned_many = true;
		goto out;
	}
	for (i = 0; i < n; i += k) {
		for (k = 0; k < REVOCATIONS_WARM_BATCH && i + k < n; k++) {
			revocations_key(PQgetvalue(r, i + k, 0), keys[k], sizeof(keys[k]));
			kp[k] = keys[k];
			ttls[k] = strtoll(PQgetvalue(r, i + k, 1), NULL, 10);
		}
		if (kv_set_ex_batch(kv, k, kp, ttls, "1") != MERR_OK)
			goto out;
	}
	/* Still the server we read the id of (a restart in between would have dropped the
	 * connection), and the lock untouched: the copy is whole. */
	s = kv_server_id(kv);
	if (s == NULL || strcmp(s, sid) != 0)
		goto out;
	kv_best_effort(kv_set_ex_if(kv, REVOCATIONS_WARM_LOCK_KEY, lockval, REVOCATIONS_READY_KEY, sid,
	                            REVOCATIONS_READY_TTL, &done));
out:
	if (r != NULL)
		PQclear(r);
	kv_best_effort(kv_del(kv, REVOCATIONS_WARM_LOCK_KEY)); /* or it expires */
	sodium_memzero(lockval, sizeof(lockval));
}

enum merr revocations_add(struct db *db, struct kv *kv, const char *jti, int64_t user_id, time_t until)
{
	char key[64];
	struct params p = PARAMS_INIT;
	long long left = (long long)until - (long long)time(NULL);
	enum merr err;

	params_str(&p, jti);
	params_int(&p, user_id);
	params_int(&p, (int64_t)until);
	err = row_run(db, "revocations_insert", &p);
	if (err != MERR_OK)
		return err;
	/* Durable now. The copy makes the next check cheap; without it the marker must not vouch
	 * for a copy that misses this token. */
	revocations_key(jti, key, sizeof(key));
	if (kv_set_ex(kv, key, "1", 1, left < 1 ? 1 : left) != MERR_OK) {
		drop_pending = true;
		(void)marker_drop_owed(kv);
	}
	/* Every process that keeps a local copy is told of the key before Redis reads our PING
	 * (kv.h): once it answers, the logout holds on the next request anywhere. Without the PING
	 * the 200 could overtake the invalidation on a busy machine. */
	kv_best_effort(kv_ping(kv));
	if (local_kv == kv)
		local_inval(NULL, key, strlen(key));
	return MERR_OK;
}

enum merr revocations_check(struct db *db, struct kv *kv, const char *jti, bool *revoked)
{
	char key[64];
	const char *keys[2] = { key, REVOCATIONS_READY_KEY };
	struct buf vals[2] = { BUF_INIT, BUF_INIT };
	bool found[2] = { false, false }, fill = false;
	const char *sid;
	PGresult *r;
	enum merr err = MERR_OK;
	unsigned long long epoch = 0;
	bool track = false;

	if (!drop_pending && local_usable(kv)) {
		track = true;
		epoch = kv_track_epoch(kv);
		if (local_has(jti)) {
			*revoked = false;
			return MERR_OK;
		}
	}
	revocations_key(jti, key, sizeof(key));
	if (!marker_drop_owed(kv) && kv_mget(kv, 2, keys, vals, found) == MERR_OK) {
		sid = kv_server_id(kv);
		if (found[0]) {
			*revoked = true;
			goto out;
		}
		if (found[1] && sid != NULL && strcmp(vals[1].data, sid) == 0) {
			*revoked = false;
			/* Kept only if tracking covered the read: nothing lost since before it. */
			if (track && kv_track_epoch(kv) == epoch) {
				local_vouched_until = mono_ms() + REVOCATIONS_LOCAL_TRUST_S * 1000LL;
				local_put(jti);
			}
			goto out;
		}
		fill = true;
	}
	r = db_exec(db, "revocations_get", 1, &jti, &err);
	if (r == NULL)
		goto out;
	*revoked = PQntuples(r) > 0;
	PQclear(r);
	if (fill)
		warm(db, kv);
out:
	buf_free(&vals[0]);
	buf_free(&vals[1]);
	return err;
}
