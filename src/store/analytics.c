/* analytics.c: view and event rows in, aggregates out. */
#include "config.h"

#include "store/analytics.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/db.h"
#include "store/params.h"
#include "store/rows.h"

enum merr analytics_view_insert(struct db *db, int64_t media_id, int64_t owner_id, const char *ip,
                                char *viewed_at)
{
	struct params p = PARAMS_INIT;
	PGresult *r = NULL;
	enum merr err;

	params_int(&p, media_id);
	params_str(&p, ip);
	params_int_or_null(&p, owner_id, 0);
	err = row_exec_one(db, "views_insert", &p, &r);
	if (err != MERR_OK)
		return err;
	snprintf(viewed_at, 32, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return MERR_OK;
}

static int64_t num(PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

enum merr analytics_media(struct db *db, int64_t media_id, const char *from, const char *to,
                          struct json_object **out)
{
	struct params p = PARAMS_INIT;
	struct json_object *o = NULL, *days = NULL;
	int64_t total = 0, unique = 0;
	enum merr err;
	PGresult *r;
	int i;

	params_int(&p, media_id);
	params_str(&p, from);
	params_str(&p, to);
	r = row_exec(db, "views_per_day", &p, &err);
	if (r == NULL)
		return err;
	days = json_object_new_object();
	for (i = 0; days != NULL && i < PQntuples(r); i++) {
		total += num(r, i, 1);
		json_object_object_add(days, PQgetvalue(r, i, 0), json_object_new_int64(num(r, i, 1)));
	}
	PQclear(r);
	if (days == NULL)
		return MERR_INTERNAL;
	/* Exact for any range, from counters: O(days) rows, however many ips (schema/006). */
	r = row_exec(db, "views_unique", &p, &err);
	if (r == NULL) {
		json_object_put(days);
		return err;
	}
	if (PQntuples(r) == 1)
		unique = num(r, 0, 0);
	PQclear(r);
	o = json_object_new_object();
	if (o == NULL) {
		json_object_put(days);
		return MERR_INTERNAL;
	}
	json_object_object_add(o, "total_views", json_object_new_int64(total));
	json_object_object_add(o, "unique_ips", json_object_new_int64(unique));
	json_object_object_add(o, "views_per_day", days);
	*out = o;
	return MERR_OK;
}

static const struct row_col event_cols[] = { ROW_JSON_COLS(EVENT_COLUMNS) };
static const struct row_table event_table = ROW_TABLE(event_cols);

enum merr analytics_event_insert(struct db *db, int64_t user_id, int64_t project_id, const char *type,
                                 struct json_object **out)
{
	struct params p = PARAMS_INIT;

	params_int(&p, project_id);
	params_int(&p, user_id);
	params_str(&p, type);
	return row_one_json(db, "events_insert", &p, &event_table, out);
}

enum merr analytics_project(struct db *db, int64_t project_id, struct json_object **out)
{
	static const char *const names[] = { "play", "click", "impression" };
	struct params p = PARAMS_INIT;
	struct json_object *o, *totals, *per_day;
	int64_t sum[3] = { 0, 0, 0 };
	enum merr err;
	PGresult *r;
	int i, k;

	params_int(&p, project_id);
	r = row_exec(db, "events_per_day", &p, &err);
	if (r == NULL)
		return err;
	o = json_object_new_object();
	totals = json_object_new_object();
	per_day = json_object_new_object();
	if (o == NULL || totals == NULL || per_day == NULL) {
		json_object_put(o);
		json_object_put(totals);
		json_object_put(per_day);
		PQclear(r);
		return MERR_INTERNAL;
	}
	for (i = 0; i < PQntuples(r); i++) {
		struct json_object *d = json_object_new_object();

		for (k = 0; k < 3; k++) {
			sum[k] += num(r, i, k + 1);
			json_object_object_add(d, names[k], json_object_new_int64(num(r, i, k + 1)));
		}
		json_object_object_add(per_day, PQgetvalue(r, i, 0), d);
	}
	PQclear(r);
	for (k = 0; k < 3; k++)
		json_object_object_add(totals, names[k], json_object_new_int64(sum[k]));
	json_object_object_add(o, "projectId", json_object_new_int64(project_id));
	json_object_object_add(o, "totals", totals);
	json_object_object_add(o, "per_day", per_day);
	*out = o;
	return MERR_OK;
}
