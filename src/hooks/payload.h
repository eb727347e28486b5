/* payload.h: the body of a webhook event, built once from the event's row snapshot. */
#ifndef MEDIAD_HOOKS_PAYLOAD_H
#define MEDIAD_HOOKS_PAYLOAD_H

#include "core/err.h"
#include "store/sqlfmt.h"

struct buf;
struct db;

/* The statements payload_get runs, for the program's table (hooks/outbox.c). */
#define PAYLOAD_STATEMENTS                                                                                  \
	{ "payload_event",                                                                                  \
	  "SELECT type, subject::text, " SQL_TS(                                                            \
		  "created_at") ", payload, renditions::text FROM webhook_events WHERE id = $1::uuid",      \
	  1 },                                                                                              \
	{                                                                                                   \
		"payload_set",                                                                              \
		        "UPDATE webhook_events SET payload = $2 WHERE id = $1::uuid AND payload IS NULL", 2 \
	}

/*
 * The body of event_id into out (replacing what it held): {"id", "type", "createdAt", "data"},
 * where data is the JSON the API gives for the row the event's subject is a snapshot of: GET
 * /jobs/:id for job.*, GET /media/:id for media.*, with the media's renditions and rendition jobs
 * as the event kept them (webhook_events.renditions, media.ready and media.failed; none for
 * media.deleted). Only the event's row is read: the data is what it was when the event happened,
 * whenever it is first sent. Built the first time and stored in
 * webhook_events.payload by a statement that only sets it while it is NULL, then read back, so
 * that every attempt at every endpoint, from any process, sends the same bytes.
 * MERR_NOT_FOUND: no such event; MERR_BAD_REQUEST: a snapshot the row type cannot read;
 * MERR_INTERNAL: out of memory; else a database error (db.h). out is left empty on failure.
 */
enum merr payload_get(struct db *db, const char *event_id, struct buf *out)
        __attribute__((warn_unused_result));

#endif
