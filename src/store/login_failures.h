/* login_failures.h: failed logins per account kept in PostgreSQL (schema/011), for the account
 * lock when there is no Redis: one count for every responder process of the host. */
#ifndef MEDIAD_LOGIN_FAILURES_H
#define MEDIAD_LOGIN_FAILURES_H

#include "core/err.h"

struct db;

/* Rows whose window ended that one call deletes besides its own work: the table stays bounded. */
#define LOGIN_FAILURES_PRUNE 100

/*
 * Counts one failed login of the account whose key is key_hex (32 lowercase hex digits: the hash
 * of its email, as the Redis key holds it), in a fixed window of window_s seconds that the first
 * failure starts (one past its end starts a new window at 1). Sets *count to the failures in the
 * window, this one included, and *ttl_s to the seconds left in it. Also deletes up to
 * LOGIN_FAILURES_PRUNE rows whose window ended. Returns MERR_OK, or the database's error
 * (MERR_UNAVAILABLE: PostgreSQL down), and then nothing was counted.
 */
enum merr login_failures_hit(struct db *db, const char *key_hex, long long window_s, long long *count,
                             long long *ttl_s) __attribute__((warn_unused_result));
/*
 * Forgets the account's failures (a successful login), and deletes up to LOGIN_FAILURES_PRUNE rows
 * whose window of window_s seconds ended. Returns MERR_OK, or the database's error.
 */
enum merr login_failures_clear(struct db *db, const char *key_hex, long long window_s)
        __attribute__((warn_unused_result));

#endif
