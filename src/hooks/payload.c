/* payload.c: webhook event bodies, from the event's snapshots and the API's own JSON builders
 * (payload.h). */
#include "config.h"

#include "hooks/payload.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <string.h>

#include "store/db.h"
#include "store/jobs.h"
#include "store/media.h"
#include "store/params.h"
#include "store/rows.h"
#include "util/buf.h"

/*
 * Puts the "renditions" and "renditionJobs" arrays of snap (webhook_events.renditions as text;
 * NULL: none kept) into o, a media_json object, in place of its []. False on out of memory or a
 * snapshot without the two arrays.
 */
static bool payload_renditions(struct json_object *o, const char *snap)
{
	static const char *const keys[] = { "renditions", "renditionJobs" };
	struct json_object *s, *a;
	bool ok = true;
	size_t i;

	if (snap == NULL)
		return true;
	s = json_tokener_parse(snap);
	for (i = 0; ok && i < sizeof(keys) / sizeof(keys[0]); i++) {
		ok = json_object_object_get_ex(s, keys[i], &a) && json_object_is_type(a, json_type_array);
		/* A reference of o's own; json_object_object_add takes it when it succeeds. */
		if (ok && json_object_object_add(o, keys[i], json_object_get(a)) != 0) {
			json_object_put(a);
			ok = false;
		}
	}
	json_object_put(s);
	return ok;
}

/* The data of an event of type: the API's JSON of the row subject is a snapshot of, with the
 * renditions snap (media.* only) kept. Reads nothing but its arguments. */
static enum merr payload_data(struct db *db, const char *type, const char *subject, const char *snap,
                              struct json_object **out)
{
	struct json_object *o;
	struct media m;
	enum merr err;

	*out = NULL;
	if (strncmp(type, "job.", 4) == 0)
		return jobs_snapshot_json(db, subject, out);
	err = media_snapshot(db, subject, &m);
	if (err != MERR_OK)
		return err;
	o = media_json(&m);
	if (o == NULL)
		return MERR_INTERNAL;
	if (!payload_renditions(o, snap)) {
		json_object_put(o);
		return MERR_INTERNAL;
	}
	*out = o;
	return MERR_OK;
}

/* Builds the body of event id (type, subject, renditions snap, createdAt) into out. */
static enum merr payload_build(struct db *db, const char *id, const char *type, const char *subject,
                               const char *snap, const char *created_at, struct buf *out)
{
	struct json_object *o = NULL, *data = NULL;
	const char *s;
	size_t len;
	enum merr err;

	err = payload_data(db, type, subject, snap, &data);
	if (err != MERR_OK)
		return err;
	o = json_object_new_object();
	err = MERR_INTERNAL;
	if (o == NULL || json_object_object_add(o, "id", json_object_new_string(id)) != 0 ||
	    json_object_object_add(o, "type", json_object_new_string(type)) != 0 ||
	    json_object_object_add(o, "createdAt", json_object_new_string(created_at)) != 0)
		goto out;
	/* Takes ownership of data when it succeeds. */
	if (json_object_object_add(o, "data", data) != 0)
		goto out;
	data = NULL;
	/* As the API writes its answers (http/response.c). */
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	                                      &len);
	if (s != NULL && buf_append(out, s, len) == 0)
		err = MERR_OK;
out:
	json_object_put(data);
	json_object_put(o);
	return err;
}

enum merr payload_get(struct db *db, const char *event_id, struct buf *out)
{
	struct params p = PARAMS_INIT;
	struct buf built = BUF_INIT;
	PGresult *r = NULL;
	enum merr err;
	int pass;

	buf_reset(out);
	params_str(&p, event_id);
	/* Twice at most: read it, or build it, store it if nobody did meanwhile, and read what won. */
	for (pass = 0; pass < 2; pass++) {
		err = row_exec_one(db, "payload_event", &p, &r);
		if (err != MERR_OK)
			goto out;
		if (!PQgetisnull(r, 0, 3)) {
			err = buf_append(out, PQgetvalue(r, 0, 3), (size_t)PQgetlength(r, 0, 3)) == 0 ?
			              MERR_OK :
			              MERR_INTERNAL;
			goto out;
		}
		if (pass == 1)
			break;
		err = payload_build(db, event_id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
		                    PQgetisnull(r, 0, 4) ? NULL : PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 2),
		                    &built);
		PQclear(r);
		r = NULL;
		if (err != MERR_OK)
			goto out;
		params_str(&p, built.data);
		err = row_run(db, "payload_set", &p);
		p.n = 1;
		if (err != MERR_OK)
			goto out;
	}
	err = MERR_INTERNAL; /* still NULL after it was set: cannot happen */
out:
	PQclear(r);
	buf_free(&built);
	if (err != MERR_OK)
		buf_reset(out);
	return err;
}
