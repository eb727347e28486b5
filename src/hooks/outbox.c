/* outbox.c: claim, lease and outcome statements of webhook deliveries. Every write after the claim
 * is fenced on (id, lease_owner, pending), and every claim takes a lease token of its own, so a
 * process whose lease ran out can never overwrite what the delivery's new holder does. */
#include "config.h"

#include "hooks/outbox.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/payload.h"
#include "store/jobs.h"
#include "store/media.h"
#include "store/params.h"
#include "store/renditions.h"
#include "util/utf8.h"

#define LEASE_OFF "lease_owner = NULL, lease_until = NULL"
/* In outbox_record: $3 the attempt succeeded; $9 the retry wait; $10 webhook_max_age. */
#define GIVE_UP "(now() + make_interval(secs => $9::int) > window_from + make_interval(secs => $10::int))"
/* An attempt that ends the delivery, failed: past webhook_max_age, or the endpoint was deleted
 * (softly, webhooks.deleted_at) while it was in flight. */
#define ENDS "(lk.gone OR " GIVE_UP ")"
/* ... $11 webhook_disable_after and $12 a fault of ours: this failure disables the endpoint. */
#define DISABLES "(w.enabled AND NOT $3::bool AND NOT $12::bool AND w.consecutive_failures + 1 >= $11::int)"

const struct db_stmt outbox_statements[] = {
	{ "outbox_claim",
	  "UPDATE webhook_deliveries d SET lease_owner = $1, lease_until = now() + make_interval(secs => $2::int) "
	  "FROM webhooks w, webhook_events e "
	  "WHERE d.id IN (SELECT x.id FROM webhook_deliveries x JOIN webhooks y ON y.id = x.webhook_id "
	  "  WHERE x.state = 'pending' AND x.next_attempt_at <= now() "
	  "  AND (x.lease_until IS NULL OR x.lease_until < now()) AND y.enabled AND y.deleted_at IS NULL "
	  "  ORDER BY x.next_attempt_at LIMIT $3 FOR UPDATE OF x SKIP LOCKED) "
	  "AND w.id = d.webhook_id AND e.id = d.event_id "
	  "RETURNING " ROW_SELECT(OUTBOX_COLUMNS),
	  3 },
	/* One statement, so one transaction: the attempt, the delivery's outcome and the endpoint's
	 * count. No row from d (the fence) and nothing is written. lk locks the endpoint's row first:
	 * d joins it, so the delivery's row is locked only once lk has its row (the order of the API's
	 * writers: the endpoint, then its deliveries). FOR NO KEY UPDATE is the lock the UPDATE of w
	 * takes anyway; it lets webhook_emit's FOR KEY SHARE through. started_at is the database's
	 * clock, as window_from is: $5 is the attempt's age in seconds. */
	{ "outbox_record",
	  "WITH lk AS (SELECT y.id AS wid, y.deleted_at IS NOT NULL AS gone "
	  "  FROM webhook_deliveries x JOIN webhooks y ON y.id = x.webhook_id "
	  "  WHERE x.id = $1::uuid FOR NO KEY UPDATE OF y), "
	  "d AS (UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = $4::int, "
	  "  last_error = $6, " LEASE_OFF ", "
	  "  state = CASE WHEN $3::bool THEN 'succeeded' WHEN " ENDS " THEN 'failed' ELSE 'pending' END, "
	  "  next_attempt_at = CASE WHEN $3::bool OR " ENDS " THEN next_attempt_at "
	  "    ELSE now() + make_interval(secs => $9::int) END, "
	  "  finished_at = CASE WHEN $3::bool OR " ENDS " THEN now() END "
	  " FROM lk WHERE id = $1::uuid AND webhook_id = lk.wid AND lease_owner = $2 AND state = 'pending' "
	  " RETURNING id, attempts, state, webhook_id), "
	  "a AS (INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error, "
	  "  response_body) "
	  " SELECT id, attempts, now() - make_interval(secs => $5::double precision), $4::int, $7::int, $6, $8 "
	  " FROM d), "
	  "w AS (UPDATE webhooks w SET "
	  "  consecutive_failures = CASE WHEN $3::bool THEN 0 ELSE w.consecutive_failures + 1 END, "
	  "  enabled = w.enabled AND NOT " DISABLES ", "
	  "  disabled_at = CASE WHEN " DISABLES " THEN now() ELSE w.disabled_at END, "
	  "  disabled_reason = CASE WHEN " DISABLES " THEN left('disabled after ' || "
	  "    (w.consecutive_failures + 1) || ' failed delivery attempts in a row; the last: ' || "
	  "    coalesce($6, 'HTTP ' || $4::int), 600) ELSE w.disabled_reason END, "
	  "  updated_at = CASE WHEN " DISABLES " THEN now() ELSE w.updated_at END "
	  " FROM d WHERE w.id = d.webhook_id AND w.deleted_at IS NULL AND NOT $12::bool AND (NOT $3::bool OR w.consecutive_failures <> 0) "
	  /* disabled_at is now() only when this statement set it: it is its own transaction. */
	  " RETURNING NOT w.enabled AND w.disabled_at = now() AS disabled_now) "
	  "SELECT d.attempts, d.state, coalesce((SELECT bool_or(disabled_now) FROM w), false) FROM d",
	  12 },
	{ "outbox_release",
	  "UPDATE webhook_deliveries SET " LEASE_OFF ", next_attempt_at = CASE WHEN $3::int > 0 "
	  "  THEN now() + make_interval(secs => $3::int) ELSE next_attempt_at END "
	  " WHERE id = $1::uuid AND lease_owner = $2 AND state = 'pending'",
	  3 },
	/* next_attempt_at never passes the window (outbox_record fails the delivery instead), so a
	 * delivery past it is also past due: the partial index finds them. */
	{ "outbox_expire",
	  "UPDATE webhook_deliveries SET state = 'failed', finished_at = now(), " LEASE_OFF ", "
	  " last_error = left('not delivered within webhook_max_age (' || $1::int || ' s)' || "
	  "   coalesce('; the last attempt: ' || last_error, ''), 600) "
	  "WHERE state = 'pending' AND next_attempt_at <= now() "
	  " AND window_from + make_interval(secs => $1::int) < now() "
	  " AND (lease_until IS NULL OR lease_until < now())",
	  1 },
	PAYLOAD_STATEMENTS,
	/* What payload.c builds the event's data with: the API's own statements. */
	JOBS_SNAPSHOT_STMT,
	MEDIA_SNAPSHOT_STMT,
	RENDITIONS_JSON_STMT,
};

const int outbox_statements_count = (int)(sizeof(outbox_statements) / sizeof(outbox_statements[0]));

#define OUTBOX_COL(...) ROW_COL(struct outbox_delivery, __VA_ARGS__)
static const struct row_col outbox_cols[] = { OUTBOX_COLUMNS(OUTBOX_COL, OUTBOX_COL) };
static const struct row_table outbox_table = ROW_TABLE(outbox_cols);

void outbox_owner(char *out, size_t outlen, const char *name, uint64_t nonce, unsigned long long claim)
{
	snprintf(out, outlen, "%.80s#%016llx.%llu", name, (unsigned long long)nonce, claim);
}

double outbox_deadline(double claimed_at, long long lease_s, long long timeout_s, double now)
{
	double end = now + (double)timeout_s;

	return end + OUTBOX_RECORD_MARGIN_S <= claimed_at + (double)lease_s ? end : -1.0;
}

const char *outbox_text(const char *in, char *out, size_t outsz)
{
	size_t n;

	if (outsz == 0)
		return out;
	n = in != NULL ? utf8_cut(in, strlen(in), outsz - 1) : 0;
	memcpy(out, in != NULL ? in : "", n);
	utf8_scrub(out, n);
	return out;
}

enum merr outbox_claim(struct db *db, const char *owner, long long lease_s, int max,
                       struct outbox_delivery *out, int *n)
{
	struct params p = PARAMS_INIT;
	enum merr err;
	PGresult *r;
	int i;

	*n = 0;
	params_str(&p, owner);
	params_int(&p, lease_s);
	params_int(&p, max);
	r = row_exec(db, "outbox_claim", &p, &err);
	if (r == NULL)
		return err;
	for (i = 0; i < PQntuples(r) && i < max; i++)
		row_fill(&out[i], &outbox_table, r, i);
	*n = i;
	PQclear(r);
	return MERR_OK;
}

enum merr outbox_record(struct db *db, const struct outbox_delivery *d, const char *owner,
                        const struct outbox_attempt *a, long long retry_s, long long max_age_s,
                        long long disable_after, struct outbox_outcome *out)
{
	struct params p = PARAMS_INIT;
	char age[32], error[OUTBOX_ERROR_MAX + 1], body[OUTBOX_BODY_MAX + 1];
	enum merr err;
	PGresult *r;

	memset(out, 0, sizeof(*out));
	snprintf(age, sizeof(age), "%.3f", a->age_s > 0 ? a->age_s : 0.0);
	params_str(&p, d->id);
	params_str(&p, owner);
	params_bool(&p, a->ok);
	params_int_or_null(&p, a->status, 0);
	params_str(&p, age);
	/* Bytes from outside (libcurl's error text, the answer): never a reason for the write to fail. */
	params_str(&p, a->error != NULL ? outbox_text(a->error, error, sizeof(error)) : NULL);
	params_int(&p, a->latency_ms);
	params_str(&p, a->body != NULL ? outbox_text(a->body, body, sizeof(body)) : NULL);
	params_int(&p, retry_s);
	params_int(&p, max_age_s);
	params_int(&p, disable_after);
	params_bool(&p, a->ours);
	r = row_exec(db, "outbox_record", &p, &err);
	if (r == NULL)
		return err;
	out->lost = PQntuples(r) != 1;
	if (!out->lost) {
		out->attempts = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
		snprintf(out->state, sizeof(out->state), "%s", PQgetvalue(r, 0, 1));
		out->disabled = PQgetvalue(r, 0, 2)[0] == 't';
	}
	PQclear(r);
	return MERR_OK;
}

enum merr outbox_release(struct db *db, const struct outbox_delivery *d, const char *owner, long long defer_s)
{
	struct params p = PARAMS_INIT;

	params_str(&p, d->id);
	params_str(&p, owner);
	params_int(&p, defer_s);
	return row_run(db, "outbox_release", &p);
}

int outbox_expire(struct db *db, long long max_age_s)
{
	struct params p = PARAMS_INIT;
	enum merr err;
	PGresult *r;
	int n;

	params_int(&p, max_age_s);
	r = row_exec(db, "outbox_expire", &p, &err);
	if (r == NULL)
		return -1;
	n = (int)strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

long long outbox_backoff_s(int attempt, uint32_t rnd)
{
	long long ceiling = OUTBOX_BACKOFF_BASE_S;
	int i;

	for (i = 1; i < attempt && ceiling < OUTBOX_BACKOFF_CAP_S; i++)
		ceiling *= 2;
	if (ceiling > OUTBOX_BACKOFF_CAP_S)
		ceiling = OUTBOX_BACKOFF_CAP_S;
	return 1 + (long long)(rnd % (uint32_t)ceiling);
}
