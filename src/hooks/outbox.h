/* outbox.h: media-hooks' side of webhook_deliveries (schema/009): claim, lease, fenced outcomes. */
#ifndef MEDIAD_HOOKS_OUTBOX_H
#define MEDIAD_HOOKS_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/db.h"
#include "store/rows.h"

/* media-hooks' statement table: these, payload.c's and the store's it builds payloads with. */
extern const struct db_stmt outbox_statements[];
extern const int outbox_statements_count;

/* Longest lease token (webhook_deliveries.lease_owner). */
#define OUTBOX_OWNER_MAX 128
/* An attempt must end this long before its lease does: the time left to record it. */
#define OUTBOX_RECORD_MARGIN_S 5
/* Backoff before retry n: a random wait of 1 s up to min(OUTBOX_BACKOFF_CAP_S,
 * OUTBOX_BACKOFF_BASE_S x 2^(n-1)) ("full jitter"). */
#define OUTBOX_BACKOFF_BASE_S 10
#define OUTBOX_BACKOFF_CAP_S 3600
/* The longest response body kept in webhook_attempts.response_body. */
#define OUTBOX_BODY_MAX 4096
/* The longest error text (webhook_attempts.error, char_length <= 600 in the schema). */
#define OUTBOX_ERROR_MAX 600

/* A claimed delivery, one line per column (rows.h) of webhook_deliveries d, webhooks w and
 * webhook_events e. */
/* clang-format off */
#define OUTBOX_COLUMNS(FIRST, COL)                                                            \
	FIRST(id,         ROW_STR(37),   "d.id::text",         NULL, ROW_NOTNULL)             \
	/* the number this attempt gets: attempts recorded so far + 1 */                     \
	COL(attempt,      ROW_NUM(int),  "d.attempts + 1",     NULL, ROW_NOTNULL)             \
	COL(webhook_id,   ROW_STR(37),   "d.webhook_id::text", NULL, ROW_NOTNULL)             \
	COL(url,          ROW_STR(2049), "w.url",              NULL, ROW_NOTNULL)             \
	COL(secret,       ROW_STR(129),  "w.secret",           NULL, ROW_NOTNULL)             \
	COL(event_id,     ROW_STR(37),   "d.event_id::text",   NULL, ROW_NOTNULL)             \
	COL(event_type,   ROW_STR(16),   "e.type",             NULL, ROW_NOTNULL)             \
	/* this attempt's number in the retry window (from 1): a manual retry starts it again */ \
	COL(window_attempt, ROW_NUM(int), OUTBOX_WINDOW_ATTEMPT, NULL, ROW_NOTNULL)
/* clang-format on */

#define OUTBOX_WINDOW_ATTEMPT \
	"(SELECT count(*) + 1 FROM webhook_attempts a WHERE a.delivery_id = d.id AND a.started_at >= d.window_from)"

struct outbox_delivery {
	ROW_STRUCT(OUTBOX_COLUMNS)
};

/*
 * A lease token into out (OUTBOX_OWNER_MAX): "<name>#<nonce, 16 hex digits>.<claim>". name is
 * the process's (host:pid by default, which two containers can share), nonce a random number
 * drawn once per process, claim a counter of its claims: no two claims anywhere share one.
 */
void outbox_owner(char *out, size_t outlen, const char *name, uint64_t nonce, unsigned long long claim);

/*
 * Claims up to max due deliveries (pending, next_attempt_at passed, no live lease, endpoint
 * enabled and not deleted), oldest due first, in one statement (FOR UPDATE SKIP LOCKED): each is leased to owner
 * for lease_s. owner must be new for every call (the fence of the outcome statements: a process
 * whose lease ran out and was taken over records nothing). Fills out[0..*n). A lost reply is not
 * retried: those leases run out and the deliveries are claimed again. The leases end lease_s after
 * the statement began, so after the caller's clock read just before the call.
 */
enum merr outbox_claim(struct db *db, const char *owner, long long lease_s, int max,
                       struct outbox_delivery *out, int *n) __attribute__((warn_unused_result));

/*
 * The deadline of an attempt at a delivery claimed at claimed_at (monotonic seconds, read before
 * the claim) for lease_s, starting now: now + timeout_s, or -1 when the attempt and its record
 * (OUTBOX_RECORD_MARGIN_S) would not end before the lease does (the caller gives it back).
 */
double outbox_deadline(double claimed_at, long long lease_s, long long timeout_s, double now);

/* One attempt as media-hooks saw it. */
struct outbox_attempt {
	bool ok;      /* a 2xx answer */
	bool ours;    /* failed for a fault of ours (no payload, no thread): the endpoint is not charged */
	int status;   /* the HTTP status; 0 when none came back */
	double age_s; /* seconds since the attempt began: started_at is the database's now() less this */
	long long latency_ms;
	const char *error; /* NULL on success; any bytes: stored cut and scrubbed (outbox_text) */
	const char *body;  /* the answer's first bytes; NULL: none. Stored the same way, 4 KiB at most */
};

/* What outbox_record made of it. */
struct outbox_outcome {
	bool lost;      /* the delivery was no longer ours (lease taken over): nothing recorded */
	char state[16]; /* pending (retried later), succeeded or failed */
	int attempts;   /* attempts recorded, this one included */
	bool disabled;  /* this attempt disabled the endpoint (disable_after failures in a row) */
};

/*
 * Records attempt a of d and its outcome in one statement, fenced on (id, owner, pending): the
 * attempt row; the delivery succeeded, or retried retry_s from now, or failed when that passes
 * max_age_s after its window_from or when the endpoint was deleted meanwhile (webhooks.deleted_at:
 * a failure then ends the delivery); the endpoint's failures in a row (a 2xx resets them; a fault of
 * ours, a->ours, leaves them) and, at disable_after, the endpoint disabled with the reason. The
 * endpoint's row is locked before the delivery's, the order of every other writer (the API's
 * DELETE), so the two never deadlock. Times are the database's (started_at too): the retry window
 * never compares two clocks.
 */
enum merr outbox_record(struct db *db, const struct outbox_delivery *d, const char *owner,
                        const struct outbox_attempt *a, long long retry_s, long long max_age_s,
                        long long disable_after, struct outbox_outcome *out)
        __attribute__((warn_unused_result));
/* Gives d back without an attempt, not counted: due again at once for anyone (media-hooks
 * stopping), or after defer_s seconds (> 0: its host's lookups are stuck). No-op when no longer
 * ours. */
enum merr outbox_release(struct db *db, const struct outbox_delivery *d, const char *owner, long long defer_s)
        __attribute__((warn_unused_result));
/*
 * Fails every pending delivery past max_age_s after its window_from that nobody holds: those of a
 * disabled endpoint (never claimed while it is disabled), and those of a process that kept
 * dying. Returns how many, or -1.
 */
int outbox_expire(struct db *db, long long max_age_s) __attribute__((warn_unused_result));

/*
 * What is stored of in (NULL: nothing, out is "") as text into out (outsz bytes, NUL included):
 * cut to fit at a character boundary, then every byte that does not begin a valid UTF-8 character
 * (NUL included) made '?' (utf8_scrub): an error or a body from outside can neither make the
 * statement fail nor split a character. Returns out.
 */
const char *outbox_text(const char *in, char *out, size_t outsz);

/* The wait before retry attempt + 1 after attempt failed (attempt >= 1), seconds: 1 +
 * rnd % min(cap, base x 2^(attempt-1)). rnd: a uniform random number. */
long long outbox_backoff_s(int attempt, uint32_t rnd);

#endif
