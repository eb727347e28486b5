/* analytics.h: media views and project events, and their aggregates (kept by triggers). */
#ifndef MEDIAD_ANALYTICS_H
#define MEDIAD_ANALYTICS_H

#include <stdint.h>

#include "core/err.h"

struct db;
struct json_object;

/*
 * Records a view of media_id from ip now; viewed_at (>= 32 bytes) receives its RFC 3339 time.
 * owner_id > 0 requires the media to be that user's; 0 accepts any (a signed link authorised it).
 * MERR_NOT_FOUND when there is no such media (for that owner).
 */
enum merr analytics_view_insert(struct db *db, int64_t media_id, int64_t owner_id, const char *ip,
                                char *viewed_at) __attribute__((warn_unused_result));
/*
 * {"total_views", "unique_ips", "views_per_day": {"YYYY-MM-DD": n, ...}} for media_id, from the
 * aggregates only: O(days) (plus O(distinct ip-days) in range for unique_ips when a range is given).
 * from and to ("YYYY-MM-DD", inclusive) may be NULL. Caller owns *out.
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
