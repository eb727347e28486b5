/* webhooks.h: webhook endpoints and their deliveries as the API shows them (media-hooks sends them). */
#ifndef MEDIAD_WEBHOOKS_H
#define MEDIAD_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/rows.h"
#include "store/sqlfmt.h"

struct db;
struct json_object;

#define WEBHOOK_ID_LEN 36     /* canonical UUID text, endpoints and deliveries alike */
#define WEBHOOK_URL_MAX 2048  /* bytes of a URL, as schema/009 checks it */
#define WEBHOOKS_PER_USER 16  /* endpoints one user may have */
#define WEBHOOK_EVENT_TYPES 6 /* the names of webhook_event_names */
/* "whsec_" and 32 random bytes in unpadded base64url (43 characters), and the NUL. */
#define WEBHOOK_SECRET_SIZE 50
/* Attempts a delivery object shows, newest first (a delivery may have more); only the newest
 * shows its responseBody (up to 4 KiB), so a delivery object stays small. */
#define WEBHOOK_ATTEMPT_LOG 20
#define WEBHOOK_ATTEMPT_LOG_S "20"
/* Deliveries a list counts at most: past it, "total" is this and "totalCapped" true. */
#define WEBHOOK_DELIVERIES_COUNT_CAP 10000
#define WEBHOOK_DELIVERIES_COUNT_CAP_S "10000"

/* The event types schema/009 writes, in its order; bit i of an events mask is name i. */
extern const char *const webhook_event_names[WEBHOOK_EVENT_TYPES];
/* The index of the event type name[0..len), or -1 when it is none. */
int webhook_event_index(const char *name, size_t len);

/* The endpoint as the API shows it, one line per column (rows.h); its "events" come after the
 * table's columns (the JSON array WEBHOOK_SELECT adds). The secret is never selected. */
/* clang-format off */
#define WEBHOOK_COLUMNS(FIRST, COL)                                                                               \
	FIRST(id,                 ROW_TEXT, "id::text",                "id",                  ROW_NOTNULL)    \
	COL(url,                  ROW_TEXT, "url",                     "url",                 ROW_NOTNULL)    \
	COL(enabled,              ROW_BOOL, "enabled",                 "enabled",             ROW_NOTNULL)    \
	COL(consecutive_failures, ROW_INT,  "consecutive_failures",    "consecutiveFailures", ROW_NOTNULL)    \
	COL(disabled_at,          ROW_TEXT, SQL_TS("disabled_at"),     "disabledAt",          ROW_NULL_EMPTY) \
	COL(disabled_reason,      ROW_TEXT, "disabled_reason",         "disabledReason",      ROW_NULL_EMPTY) \
	COL(created_at,           ROW_TEXT, SQL_TS("created_at"),      "createdAt",           ROW_NOTNULL)    \
	COL(updated_at,           ROW_TEXT, SQL_TS("updated_at"),      "updatedAt",           ROW_NOTNULL)
/* clang-format on */
#define WEBHOOK_SELECT ROW_SELECT(WEBHOOK_COLUMNS) ", array_to_json(events)"

/*
 * A delivery (d, of webhook_deliveries) of an event (e, of webhook_events), one line per column;
 * its "attemptLog" comes after them (WEBHOOK_ATTEMPT_LOG_SQL). nextAttemptAt only while pending.
 */
/* clang-format off */
#define WEBHOOK_DELIVERY_COLUMNS(FIRST, COL)                                                                    \
	FIRST(id,           ROW_TEXT, "d.id::text",                       "id",             ROW_NOTNULL)    \
	COL(event_id,       ROW_TEXT, "d.event_id::text",                 "eventId",        ROW_NOTNULL)    \
	COL(type,           ROW_TEXT, "e.type",                           "type",           ROW_NOTNULL)    \
	COL(state,          ROW_TEXT, "d.state",                          "state",          ROW_NOTNULL)    \
	COL(attempts,       ROW_INT,  "d.attempts",                       "attempts",       ROW_NOTNULL)    \
	COL(next_attempt,   ROW_TEXT, SQL_TS("CASE WHEN d.state = 'pending' THEN d.next_attempt_at END"),          \
	                                                                  "nextAttemptAt",  ROW_NULL_EMPTY) \
	COL(last_status,    ROW_INT,  "d.last_status_code",               "lastStatusCode", ROW_NULL(0))    \
	COL(last_error,     ROW_TEXT, "d.last_error",                     "lastError",      ROW_NULL_EMPTY) \
	COL(created_at,     ROW_TEXT, SQL_TS("d.created_at"),             "createdAt",      ROW_NOTNULL)    \
	COL(finished_at,    ROW_TEXT, SQL_TS("d.finished_at"),            "finishedAt",     ROW_NULL_EMPTY)
/* clang-format on */
/* The delivery's attempts, newest first, at most WEBHOOK_ATTEMPT_LOG: a JSON array; responseBody
 * is null but on the newest (the others' bodies are not even read). */
/* clang-format off */
#define WEBHOOK_ATTEMPT_LOG_SQL                                                                   \
	"coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'startedAt', "         \
	SQL_TS("a.started_at") ", 'statusCode', a.status_code, 'latencyMs', a.latency_ms, "      \
	"'error', a.error, 'responseBody', a.body) ORDER BY a.attempt DESC) "                     \
	"FROM (SELECT a.attempt, a.started_at, a.status_code, a.latency_ms, a.error, "            \
	"CASE WHEN row_number() OVER (ORDER BY a.attempt DESC) = 1 THEN a.response_body END body " \
	"FROM webhook_attempts a WHERE a.delivery_id = d.id "                                     \
	"ORDER BY a.attempt DESC LIMIT " WEBHOOK_ATTEMPT_LOG_S ") a), '[]')"
/* clang-format on */
#define WEBHOOK_DELIVERY_SELECT ROW_SELECT(WEBHOOK_DELIVERY_COLUMNS) ", " WEBHOOK_ATTEMPT_LOG_SQL

/* An attempt (a, of webhook_attempts) as GET /webhooks/:id/deliveries/:deliveryId/attempts shows
 * it: the members of an attemptLog entry, each with its responseBody. */
/* clang-format off */
#define WEBHOOK_ATTEMPT_COLUMNS(FIRST, COL)                                                        \
	FIRST(attempt,     ROW_INT,  "a.attempt",            "attempt",      ROW_NOTNULL)    \
	COL(started_at,    ROW_TEXT, SQL_TS("a.started_at"), "startedAt",    ROW_NOTNULL)    \
	COL(status_code,   ROW_INT,  "a.status_code",        "statusCode",   ROW_NULL(0))    \
	COL(latency_ms,    ROW_INT,  "a.latency_ms",         "latencyMs",    ROW_NOTNULL)    \
	COL(error,         ROW_TEXT, "a.error",              "error",        ROW_NULL_EMPTY) \
	COL(response_body, ROW_TEXT, "a.response_body",      "responseBody", ROW_NULL_EMPTY)
/* clang-format on */
#define WEBHOOK_ATTEMPT_SELECT ROW_SELECT(WEBHOOK_ATTEMPT_COLUMNS)

/*
 * A new signing secret: "whsec_" and 32 bytes of libsodium's randombytes in unpadded base64url.
 * Receivers use the string's bytes as the HMAC key.
 */
void webhook_secret_new(char out[WEBHOOK_SECRET_SIZE]);

/*
 * Every function takes the caller's user id: another user's endpoint (or its delivery) is
 * MERR_NOT_FOUND, exactly like a missing one. events is a mask over webhook_event_names (never 0
 * where it is written). JSON results are the caller's.
 */
/* Inserts an endpoint; MERR_CONFLICT when the user already has WEBHOOKS_PER_USER. */
enum merr webhooks_create(struct db *db, int64_t user_id, const char *url, unsigned events,
                          const char *secret, struct json_object **out) __attribute__((warn_unused_result));
enum merr webhooks_get(struct db *db, int64_t user_id, const char *id, struct json_object **out)
        __attribute__((warn_unused_result));
enum merr webhooks_list(struct db *db, int64_t user_id, int64_t limit, int64_t offset,
                        struct json_object **items, int64_t *total) __attribute__((warn_unused_result));
/*
 * Changes what is given: url NULL, events 0 and enabled -1 keep theirs. Enabling a disabled
 * endpoint clears disabled_at, disabled_reason and consecutive_failures; disabling one sets
 * disabled_at and says its owner did.
 */
enum merr webhooks_update(struct db *db, int64_t user_id, const char *id, const char *url, unsigned events,
                          int enabled, struct json_object **out) __attribute__((warn_unused_result));
/*
 * Deletes the endpoint softly: deleted_at set and disabled, so no API call sees it, no change
 * writes deliveries for it and none of its deliveries is sent; mediactl gc removes its
 * deliveries (by pages) and then the row. MERR_NOT_FOUND when it is not the user's or deleted.
 */
enum merr webhooks_delete(struct db *db, int64_t user_id, const char *id) __attribute__((warn_unused_result));
/* A page of the endpoint's deliveries, newest first; state NULL: every state. *total counts up to
 * WEBHOOK_DELIVERIES_COUNT_CAP; *capped says there are more. */
enum merr webhook_deliveries_list(struct db *db, int64_t user_id, const char *id, const char *state,
                                  int64_t limit, int64_t offset, struct json_object **items, int64_t *total,
                                  bool *capped) __attribute__((warn_unused_result));

/* The delivery delivery_id of the endpoint, as a list shows it. MERR_NOT_FOUND when the endpoint
 * is not the user's (or deleted) or does not have it. */
enum merr webhook_deliveries_get(struct db *db, int64_t user_id, const char *id, const char *delivery_id,
                                 struct json_object **out) __attribute__((warn_unused_result));
/* A page of the delivery's attempts, newest first (WEBHOOK_ATTEMPT_COLUMNS), and how many it has
 * in *total; MERR_NOT_FOUND as webhook_deliveries_get (a delivery without attempts is an empty
 * page). */
enum merr webhook_attempts_list(struct db *db, int64_t user_id, const char *id, const char *delivery_id,
                                int64_t limit, int64_t offset, struct json_object **items, int64_t *total)
        __attribute__((warn_unused_result));

/* Why webhook_deliveries_retry changed nothing. */
enum webhook_retry_refusal {
	WEBHOOK_RETRY_DONE,        /* not refused: retried */
	WEBHOOK_RETRY_NO_WEBHOOK,  /* MERR_NOT_FOUND: the endpoint is not the user's */
	WEBHOOK_RETRY_NO_DELIVERY, /* MERR_NOT_FOUND: the delivery is not the endpoint's */
	WEBHOOK_RETRY_DISABLED,    /* MERR_CONFLICT: enable the endpoint first */
	WEBHOOK_RETRY_SENDING,     /* MERR_CONFLICT: a live lease holds it, an attempt is under way */
	WEBHOOK_RETRY_DELIVERED,   /* MERR_CONFLICT: it succeeded */
};

/*
 * A manual retry, in one transaction that locks the delivery: a failed one, or a pending one that
 * no live lease holds, becomes pending and due now, its retry window starting now, and is
 * answered. Anything else changes nothing and *why says what (a missing delivery is
 * MERR_NOT_FOUND whether or not the endpoint is enabled).
 */
enum merr webhook_deliveries_retry(struct db *db, int64_t user_id, const char *id, const char *delivery_id,
                                   struct json_object **out, enum webhook_retry_refusal *why)
        __attribute__((warn_unused_result));

#endif
