/* webhooks.c: webhook endpoints and deliveries for the API, through prepared statements (see
 * statements.c), shaped by WEBHOOK_COLUMNS and WEBHOOK_DELIVERY_COLUMNS. */
#include "config.h"

#include "store/webhooks.h"

#include <assert.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "store/db.h"
#include "store/params.h"
#include "store/renditions.h"
#include "store/rows.h"

/* The room a text[] literal of every event type takes: the names, commas and braces. */
#define EVENTS_LITERAL_SIZE 128

const char *const webhook_event_names[WEBHOOK_EVENT_TYPES] = {
	"job.completed", "job.failed", "job.cancelled", "media.ready", "media.failed", "media.deleted",
};

static const struct row_col webhook_cols[] = { ROW_JSON_COLS(WEBHOOK_COLUMNS) };
static const struct row_table webhook_table = ROW_TABLE(webhook_cols);
static const struct row_col delivery_cols[] = { ROW_JSON_COLS(WEBHOOK_DELIVERY_COLUMNS) };
static const struct row_table delivery_table = ROW_TABLE(delivery_cols);
static const struct row_col attempt_cols[] = { ROW_JSON_COLS(WEBHOOK_ATTEMPT_COLUMNS) };
static const struct row_table attempt_table = ROW_TABLE(attempt_cols);

int webhook_event_index(const char *name, size_t len)
{
	int i;

	for (i = 0; i < WEBHOOK_EVENT_TYPES; i++)
		if (strlen(webhook_event_names[i]) == len && memcmp(webhook_event_names[i], name, len) == 0)
			return i;
	return -1;
}

/* The text[] literal of mask ("{job.completed,media.ready}"): the names need no quoting. */
static void events_literal(unsigned mask, char out[EVENTS_LITERAL_SIZE])
{
	size_t o = 0;
	int i;

	out[o++] = '{';
	for (i = 0; i < WEBHOOK_EVENT_TYPES && o < EVENTS_LITERAL_SIZE; i++)
		if (mask & (1u << i))
			o += (size_t)snprintf(out + o, EVENTS_LITERAL_SIZE - o, "%s%s", o > 1 ? "," : "",
			                      webhook_event_names[i]);
	/* Sized for every name at once (see EVENTS_LITERAL_SIZE): never cut, but never past it. */
	assert(o + 2 <= EVENTS_LITERAL_SIZE);
	if (o < EVENTS_LITERAL_SIZE)
		snprintf(out + o, EVENTS_LITERAL_SIZE - o, "}");
}

void webhook_secret_new(char out[WEBHOOK_SECRET_SIZE])
{
	unsigned char key[32];

	_Static_assert(
	        sizeof("whsec_") - 1 +
	                        sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING) <=
	                WEBHOOK_SECRET_SIZE,
	        "WEBHOOK_SECRET_SIZE is too small");
	randombytes_buf(key, sizeof(key));
	memcpy(out, "whsec_", 6);
	sodium_bin2base64(out + 6, WEBHOOK_SECRET_SIZE - 6, key, sizeof(key),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(key, sizeof(key));
}

/* row_extra_fn of the endpoints: the column after the table's is "events" (a JSON array). */
static bool webhook_add_events(struct json_object *o, PGresult *r, int i, int first)
{
	struct json_object *a = renditions_json_column(r, i, first);

	if (a == NULL || json_object_object_add(o, "events", a) != 0) {
		json_object_put(a);
		return false;
	}
	return true;
}

/* row_extra_fn of the deliveries: the column after the table's is "attemptLog". */
static bool delivery_add_log(struct json_object *o, PGresult *r, int i, int first)
{
	struct json_object *a = renditions_json_column(r, i, first);

	if (a == NULL || json_object_object_add(o, "attemptLog", a) != 0) {
		json_object_put(a);
		return false;
	}
	return true;
}

/* Runs stmt with p; its single row, shaped by t and then extra, goes into *out. No row is
 * MERR_NOT_FOUND. */
static enum merr one_json(struct db *db, const char *stmt, const struct params *p, const struct row_table *t,
                          row_extra_fn *extra, struct json_object **out)
{
	PGresult *r = NULL;
	struct json_object *o;
	enum merr err = row_exec_one(db, stmt, p, &r);

	if (err != MERR_OK)
		return err;
	o = row_json_result(r, 0, t);
	if (o != NULL && !extra(o, r, 0, t->n)) {
		json_object_put(o);
		o = NULL;
	}
	PQclear(r);
	*out = o;
	return o != NULL ? MERR_OK : MERR_INTERNAL;
}

/* $1 the endpoint, $2 its owner: how every endpoint statement starts. */
static void webhook_params(struct params *p, int64_t user_id, const char *id)
{
	params_str(p, id);
	params_int(p, user_id);
}

enum merr webhooks_create(struct db *db, int64_t user_id, const char *url, unsigned events,
                          const char *secret, struct json_object **out)
{
	struct params p = PARAMS_INIT, lock = PARAMS_INIT;
	char lit[EVENTS_LITERAL_SIZE];
	enum merr err;

	*out = NULL;
	events_literal(events, lit);
	params_int(&p, user_id);
	params_str(&p, url);
	params_str(&p, lit);
	params_str(&p, secret);
	params_int(&p, WEBHOOKS_PER_USER);
	params_int(&lock, user_id);
	/* The user's row lock serialises two creations, so the cap counts the other's row. */
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	err = row_run(db, "users_lock", &lock);
	if (err == MERR_OK)
		err = one_json(db, "webhooks_create", &p, &webhook_table, webhook_add_events, out);
	/* No row: the cap. */
	if (err == MERR_NOT_FOUND)
		err = MERR_CONFLICT;
	err = db_end(db, err);
	if (err != MERR_OK && *out != NULL) {
		json_object_put(*out);
		*out = NULL;
	}
	return err;
}

enum merr webhooks_get(struct db *db, int64_t user_id, const char *id, struct json_object **out)
{
	struct params p = PARAMS_INIT;

	webhook_params(&p, user_id, id);
	return one_json(db, "webhooks_get", &p, &webhook_table, webhook_add_events, out);
}

enum merr webhooks_list(struct db *db, int64_t user_id, int64_t limit, int64_t offset,
                        struct json_object **items, int64_t *total)
{
	struct params p = PARAMS_INIT;

	params_int(&p, user_id);
	params_int(&p, limit);
	params_int(&p, offset);
	return row_list_json_with(db, "webhooks_list", "webhooks_count", 1, &p, &webhook_table,
	                          webhook_add_events, items, total);
}

enum merr webhooks_update(struct db *db, int64_t user_id, const char *id, const char *url, unsigned events,
                          int enabled, struct json_object **out)
{
	struct params p = PARAMS_INIT;
	char lit[EVENTS_LITERAL_SIZE];

	webhook_params(&p, user_id, id);
	params_str(&p, url);
	if (events != 0) {
		events_literal(events, lit);
		params_str(&p, lit);
	} else {
		params_null(&p);
	}
	if (enabled >= 0)
		params_bool(&p, enabled != 0);
	else
		params_null(&p);
	return one_json(db, "webhooks_update", &p, &webhook_table, webhook_add_events, out);
}

enum merr webhooks_delete(struct db *db, int64_t user_id, const char *id)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	webhook_params(&p, user_id, id);
	err = row_exec_one(db, "webhooks_delete", &p, &r);
	if (err == MERR_OK)
		PQclear(r);
	return err;
}

/* Whether the endpoint is the user's (MERR_OK) and enabled. */
static enum merr webhook_enabled(struct db *db, int64_t user_id, const char *id, bool *enabled)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	webhook_params(&p, user_id, id);
	err = row_exec_one(db, "webhooks_enabled", &p, &r);
	if (err != MERR_OK)
		return err;
	*enabled = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return MERR_OK;
}

enum merr webhook_deliveries_list(struct db *db, int64_t user_id, const char *id, const char *state,
                                  int64_t limit, int64_t offset, struct json_object **items, int64_t *total,
                                  bool *capped)
{
	struct params p = PARAMS_INIT;
	bool enabled;
	enum merr err;

	*capped = false;
	/* An endpoint of the user's without deliveries is an empty page; another's is not found. */
	err = webhook_enabled(db, user_id, id, &enabled);
	if (err != MERR_OK)
		return err;
	webhook_params(&p, user_id, id);
	params_str(&p, state);
	params_int(&p, limit);
	params_int(&p, offset);
	err = row_list_json_with(db, "webhook_deliveries_list", "webhook_deliveries_count", 3, &p,
	                         &delivery_table, delivery_add_log, items, total);
	if (err == MERR_OK && *total > WEBHOOK_DELIVERIES_COUNT_CAP) {
		*total = WEBHOOK_DELIVERIES_COUNT_CAP;
		*capped = true;
	}
	return err;
}

/* $1 the endpoint, $2 its owner, $3 the delivery: how every statement about one delivery starts. */
static void delivery_params(struct params *p, int64_t user_id, const char *id, const char *delivery_id)
{
	webhook_params(p, user_id, id);
	params_str(p, delivery_id);
}

enum merr webhook_deliveries_get(struct db *db, int64_t user_id, const char *id, const char *delivery_id,
                                 struct json_object **out)
{
	struct params p = PARAMS_INIT;

	delivery_params(&p, user_id, id, delivery_id);
	return one_json(db, "webhook_deliveries_get", &p, &delivery_table, delivery_add_log, out);
}

enum merr webhook_attempts_list(struct db *db, int64_t user_id, const char *id, const char *delivery_id,
                                int64_t limit, int64_t offset, struct json_object **items, int64_t *total)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	delivery_params(&p, user_id, id, delivery_id);
	/* A delivery of the user's without attempts is an empty page; another's is not found. */
	err = row_exec_one(db, "webhook_deliveries_owned", &p, &r);
	if (err != MERR_OK)
		return err;
	PQclear(r);
	params_int(&p, limit);
	params_int(&p, offset);
	return row_list_json(db, "webhook_attempts_list", "webhook_attempts_count", 3, &p, &attempt_table,
	                     items, total);
}

/* In the retry's transaction: locks the delivery and says whether it may be retried (MERR_OK) or
 * why not. */
static enum merr retry_check(struct db *db, const struct params *p, int64_t user_id, const char *id,
                             enum webhook_retry_refusal *why)
{
	PGresult *r = NULL;
	bool enabled;
	enum merr err = row_exec_one(db, "webhook_deliveries_lock", p, &r);

	if (err == MERR_NOT_FOUND) {
		/* Which of the two is missing. */
		err = webhook_enabled(db, user_id, id, &enabled);
		*why = err == MERR_OK ? WEBHOOK_RETRY_NO_DELIVERY : WEBHOOK_RETRY_NO_WEBHOOK;
		return err == MERR_OK ? MERR_NOT_FOUND : err;
	}
	if (err != MERR_OK)
		return err;
	if (strcmp(PQgetvalue(r, 0, 0), "succeeded") == 0)
		*why = WEBHOOK_RETRY_DELIVERED;
	else if (PQgetvalue(r, 0, 2)[0] != 't')
		*why = WEBHOOK_RETRY_DISABLED;
	else if (PQgetvalue(r, 0, 1)[0] == 't')
		*why = WEBHOOK_RETRY_SENDING;
	PQclear(r);
	return *why == WEBHOOK_RETRY_DONE ? MERR_OK : MERR_CONFLICT;
}

enum merr webhook_deliveries_retry(struct db *db, int64_t user_id, const char *id, const char *delivery_id,
                                   struct json_object **out, enum webhook_retry_refusal *why)
{
	struct params p = PARAMS_INIT;
	enum merr err;

	*out = NULL;
	*why = WEBHOOK_RETRY_DONE;
	delivery_params(&p, user_id, id, delivery_id);
	err = db_begin(db);
	if (err != MERR_OK)
		return err;
	err = retry_check(db, &p, user_id, id, why);
	if (err == MERR_OK)
		err = one_json(db, "webhook_deliveries_retry", &p, &delivery_table, delivery_add_log, out);
	err = db_end(db, err);
	if (err != MERR_OK && *out != NULL) {
		json_object_put(*out);
		*out = NULL;
	}
	return err;
}
