/* analytics.h: media views and project events, and their aggregates (kept by triggers, schema/006). */
#ifndef MEDIAD_ANALYTICS_H
#define MEDIAD_ANALYTICS_H

#include <stdint.h>

#include "core/err.h"
#include "store/rows.h"
#include "store/sqlfmt.h"

struct db;
struct json_object;

/* A project event as events_insert returns it, one line per column (rows.h). */
/* clang-format off */
#define EVENT_COLUMNS(FIRST, COL)                                                 \
	FIRST(id,       ROW_TEXT, "id::text",           "id",        ROW_NOTNULL) \
	COL(project_id, ROW_INT,  "project_id",         "projectId", ROW_NOTNULL) \
	COL(event_type, ROW_TEXT, "event_type",         "eventType", ROW_NOTNULL) \
	COL(created_at, ROW_TEXT, SQL_TS("created_at"), "createdAt", ROW_NOTNULL)
/* clang-format on */
#define EVENT_SELECT ROW_SELECT(EVENT_COLUMNS)

/*
 * Records a view of media_id from ip now; viewed_at (>= 32 bytes) receives its RFC 3339 time.
 * owner_id > 0 requires the media to be that user's; 0 accepts any (a signed link authorised it).
 * MERR_NOT_FOUND when there is no such media (for that owner).
 */
enum merr analytics_view_insert(struct db *db, int64_t media_id, int64_t owner_id, const char *ip,
                                char *viewed_at) __attribute__((warn_unused_result));
/*
 * {"total_views", "unique_ips", "views_per_day": {"YYYY-MM-DD": n, ...}} for media_id, from the
 * aggregates only, exact: at most 16 rows (one per shard, schema/006) per day, and for unique_ips
 * per pair of days from `from` on, never one per ip. from and to ("YYYY-MM-DD", inclusive) may be
 * NULL. Caller owns *out.
 */
enum merr analytics_media(struct db *db, int64_t media_id, const char *from, const char *to,
                          struct json_object **out) __attribute__((warn_unused_result));
/* Records an event of a project the user owns; MERR_NOT_FOUND otherwise. *out is the event object. */
enum merr analytics_event_insert(struct db *db, int64_t user_id, int64_t project_id, const char *type,
                                 struct json_object **out) __attribute__((warn_unused_result));
/* {"projectId", "totals": {...}, "per_day": {"YYYY-MM-DD": {"play", "click", "impression"}}} */
enum merr analytics_project(struct db *db, int64_t project_id, struct json_object **out)
        __attribute__((warn_unused_result));

#endif
