/* statements.c: every prepared statement of the responder; store modules refer to them by name. */
#include "config.h"

#include "store/statements.h"

#include "store/analytics.h"
#include "store/jobs.h"
#include "store/media.h"
#include "store/projects.h"
#include "store/renditions.h"
#include "store/uploads.h"
#include "store/sqlfmt.h"
#include "store/users.h"
#include "store/webhooks.h"

/* The select lists (*_SELECT) come from each entity's column table: see rows.h. */
/*
 * What user uid stores (storage_quota_bytes, GET /auth/me): its media rows, uploads and render
 * outputs, and the renditions made of them (HLS ladders, posters, storyboards), which can take
 * more than the source: media.renditions_bytes, kept by the job that records them (schema/008),
 * so this stays one scan of the user's media rows.
 */
#define USAGE_SQL(uid) \
	"(SELECT coalesce(sum(size_bytes + renditions_bytes), 0)::bigint FROM media WHERE user_id = " uid ")"
/* The uploads of user uid still open: receiving and unexpired. Their announced lengths are held
 * against the quota, at a tus creation and at every media insert alike. */
#define UPLOADS_OPEN_WHERE(uid) " WHERE user_id = " uid " AND state = 'receiving' AND expires_at > now()"

const struct db_stmt store_statements[] = {
	{ "schema_version", "SELECT coalesce(max(version), '') FROM schema_migrations", 0 },
	/* users */
	{ "users_create",
	  "INSERT INTO users (email, password_hash, is_admin) VALUES ($1, $2, $3) RETURNING " USER_SELECT,
	  3 },
	{ "users_by_email", "SELECT " USER_SELECT " FROM users WHERE email = $1", 1 },
	/* GET /auth/me: the user and the bytes its media take, in one round trip */
	{ "users_me", "SELECT " USER_SELECT ", " USAGE_SQL("$1") " FROM users WHERE id = $1", 1 },
	{ "users_set_hash", "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1", 2 },
	/* projects: every statement is scoped by user_id ($2 or $1) */
	{ "projects_create",
	  "INSERT INTO projects (user_id, title, description) VALUES ($1, $2, $3) RETURNING " PROJECT_SELECT,
	  3 },
	{ "projects_get", "SELECT " PROJECT_SELECT " FROM projects WHERE id = $1 AND user_id = $2", 2 },
	{ "projects_owned", "SELECT 1 FROM projects WHERE id = $1 AND user_id = $2", 2 },
	{ "projects_lock", "SELECT 1 FROM projects WHERE id = $1 AND user_id = $2 FOR UPDATE", 2 },
	{ "projects_list",
	  "SELECT " PROJECT_SELECT " FROM projects WHERE user_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
	  3 },
	{ "projects_count", "SELECT count(*) FROM projects WHERE user_id = $1", 1 },
	{ "projects_update",
	  "UPDATE projects SET title = coalesce($3, title), "
	  "description = CASE WHEN $4::boolean THEN $5 ELSE description END, updated_at = now() "
	  "WHERE id = $1 AND user_id = $2 RETURNING " PROJECT_SELECT,
	  5 },
	/* Data-modifying CTEs always run: the project goes (media and jobs by cascade) and the
	 * select returns the files those media rows owned, then their rendition folders (with a
	 * trailing '/' and no id). Runs after projects_lock. */
	{ "projects_delete",
	  "WITH files AS (SELECT path, id FROM media WHERE project_id = $1 "
	  "UNION ALL SELECT DISTINCT r.dir || '/', NULL::bigint FROM media_renditions r "
	  "JOIN media m ON m.id = r.media_id WHERE m.project_id = $1), "
	  "gone AS (DELETE FROM projects WHERE id = $1) SELECT path, id FROM files",
	  1 },
	/* media */
	MEDIA_INSERT_STMT,
	{ "media_get", "SELECT " MEDIA_SELECT " FROM media WHERE id = $1 AND user_id = $2", 2 },
	{ "media_get_any", "SELECT " MEDIA_SELECT " FROM media WHERE id = $1", 1 },
	/* Each row's renditions after its columns (media.c), computed for the page's rows only: the
	 * page is chosen first, in the subquery. */
	{ "media_list",
	  "SELECT " MEDIA_SELECT ", " RENDITIONS_JSON_OF_MEDIA ", " RENDITION_JOBS_JSON_OF_MEDIA
	  " FROM (SELECT * FROM media "
	  "WHERE user_id = $1 AND ($2::bigint IS NULL OR project_id = $2) AND ($3::text IS NULL OR origin = $3) "
	  "ORDER BY id DESC LIMIT $4 OFFSET $5) media ORDER BY id DESC",
	  5 },
	{ "media_count",
	  "SELECT count(*) FROM media WHERE user_id = $1 AND ($2::bigint IS NULL OR project_id = $2) "
	  "AND ($3::text IS NULL OR origin = $3)",
	  3 },
	/* The rendition folders too (read in the statement's snapshot, before the cascade). */
	{ "media_delete",
	  "WITH d AS (DELETE FROM media WHERE id = $1 AND user_id = $2 RETURNING id, path) "
	  "SELECT d.path, coalesce((SELECT string_agg(DISTINCT r.dir, ',') FROM media_renditions r "
	  "WHERE r.media_id = d.id), '') FROM d",
	  2 },
	/* What a user stores (storage_quota_bytes): USAGE_SQL. */
	{ "media_usage", "SELECT " USAGE_SQL("$1"), 1 },
	/* ...and the lengths its open uploads reserve (UPLOADS_OPEN_WHERE, as uploads_open counts them), but upload $2's
	 * (NULL: none), whose bytes are the media row being inserted. */
	{ "media_usage_reserved",
	  "SELECT (" USAGE_SQL("$1") " + (SELECT coalesce(sum(upload_length), 0) FROM uploads " UPLOADS_OPEN_WHERE(
	          "$1") " AND ($2::uuid IS NULL OR id <> $2::uuid)))::bigint",
	  2 },
	/* render jobs, API side (the spawner's statements are in render/queue.c) */
	{ "jobs_pick_input",
	  "SELECT " JOB_INPUT_SELECT " FROM media m JOIN projects p ON p.id = m.project_id "
	  "WHERE m.project_id = $1 AND p.user_id = $2 "
	  /* Without an asset id: the newest upload, never a render's output. */
	  "AND CASE WHEN $3::bigint IS NULL THEN m.origin = 'upload' ELSE m.id = $3 END "
	  "ORDER BY m.id DESC LIMIT 1",
	  3 },
	/* Serialises one user's enqueues (runs in the transaction of jobs_enqueue), so the cap below
	 * counts what the others committed. */
	{ "users_lock", "SELECT 1 FROM users WHERE id = $1 FOR UPDATE", 1 },
	/* No row when the user already has $9 jobs waiting or running. The NOTIFY is delivered at
	 * commit, so a spawner never wakes for a row it cannot see. */
	{ "jobs_enqueue",
	  "WITH j AS (INSERT INTO render_jobs (id, user_id, project_id, input_media_id, input_path, output_path, "
	  "preset, max_attempts) SELECT $1, $2, $3, $4, $5, $6, $7, $8 "
	  "WHERE (SELECT count(*) FROM render_jobs WHERE user_id = $2 AND state IN ('waiting', 'active')) < $9::int "
	  "RETURNING id) "
	  "SELECT pg_notify('render_jobs', id::text) FROM j",
	  9 },
	/* The ids come from the caller (one per preset) so each output folder can be named after its
	 * job in the same statement. */
	{ "jobs_enqueue_renditions",
	  "WITH j AS (INSERT INTO render_jobs (id, user_id, project_id, input_media_id, input_path, output_path, "
	  "preset, max_attempts) "
	  "SELECT p.id, m.user_id, m.project_id, m.id, m.path, 'outputs/' || p.id::text, p.preset, $3 "
	  "FROM media m, unnest($2::text[], $4::uuid[]) AS p(preset, id) WHERE m.id = $1 RETURNING id) "
	  "SELECT pg_notify('render_jobs', id::text) FROM j",
	  4 },
	{ "jobs_get", "SELECT " JOB_SELECT " FROM render_jobs WHERE id = $1 AND user_id = $2", 2 },
	{ "jobs_list",
	  "SELECT " JOB_SELECT " FROM render_jobs WHERE project_id = $1 AND user_id = $2 "
	  "ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
	  4 },
	{ "jobs_count", "SELECT count(*) FROM render_jobs WHERE project_id = $1 AND user_id = $2", 2 },
	/* One statement for both cases; it answers the state the job was in before. */
	{ "jobs_cancel",
	  "WITH old AS (SELECT id, state FROM render_jobs WHERE id = $1 AND user_id = $2 FOR UPDATE), "
	  "upd AS (UPDATE render_jobs j SET "
	  " state = CASE WHEN old.state = 'waiting' THEN 'cancelled' ELSE j.state END, "
	  " finished_at = CASE WHEN old.state = 'waiting' THEN now() ELSE j.finished_at END, "
	  " cancel_requested = CASE WHEN old.state = 'active' THEN true ELSE j.cancel_requested END "
	  " FROM old WHERE j.id = old.id AND old.state IN ('waiting', 'active') RETURNING j.id) "
	  "SELECT old.state, (SELECT pg_notify('render_cancel', id::text) FROM upd) FROM old",
	  2 },
	/* webhook endpoints and their deliveries, API side (store/webhooks.c; media-hooks has its own
	 * statements): every statement is scoped by user_id ($2 or $1) and sees no deleted endpoint
	 * (deleted_at, schema/009). The secret is only written. */
	{ "webhooks_create",
	  "INSERT INTO webhooks (user_id, url, events, secret) SELECT $1, $2, $3::text[], $4 "
	  "WHERE (SELECT count(*) FROM webhooks WHERE user_id = $1 AND deleted_at IS NULL) < $5::int "
	  "RETURNING " WEBHOOK_SELECT,
	  5 },
	{ "webhooks_get",
	  "SELECT " WEBHOOK_SELECT " FROM webhooks WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL",
	  2 },
	{ "webhooks_enabled",
	  "SELECT enabled FROM webhooks WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL", 2 },
	{ "webhooks_list",
	  "SELECT " WEBHOOK_SELECT " FROM webhooks WHERE user_id = $1 AND deleted_at IS NULL "
	  "ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
	  3 },
	{ "webhooks_count", "SELECT count(*) FROM webhooks WHERE user_id = $1 AND deleted_at IS NULL", 1 },
	/* $5 true enables (a disabled endpoint starts afresh), false disables, NULL keeps. The
	 * right-hand sides read the row as it was. */
	{ "webhooks_update",
	  "UPDATE webhooks SET url = coalesce($3, url), events = coalesce($4::text[], events), "
	  "enabled = coalesce($5::boolean, enabled), "
	  "disabled_at = CASE WHEN $5::boolean IS NULL OR $5::boolean = enabled THEN disabled_at "
	  " WHEN $5::boolean THEN NULL ELSE now() END, "
	  "disabled_reason = CASE WHEN $5::boolean IS NULL OR $5::boolean = enabled THEN disabled_reason "
	  " WHEN $5::boolean THEN NULL ELSE 'disabled by its owner' END, "
	  "consecutive_failures = CASE WHEN $5::boolean AND NOT enabled THEN 0 ELSE consecutive_failures END, "
	  "updated_at = now() WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL RETURNING " WEBHOOK_SELECT,
	  5 },
	/* A soft delete: one row, no cascade, and no lock that a change's fan-out (FOR KEY SHARE)
	 * holds; mediactl gc removes the deliveries and then the row. */
	{ "webhooks_delete",
	  "UPDATE webhooks SET deleted_at = now(), enabled = false, updated_at = now() "
	  "WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL RETURNING 1",
	  2 },
	/* Newest first, as webhook_deliveries_webhook_idx orders them; $3 a state or NULL. */
	{ "webhook_deliveries_list",
	  "SELECT " WEBHOOK_DELIVERY_SELECT " FROM webhook_deliveries d "
	  "JOIN webhook_events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id "
	  "WHERE d.webhook_id = $1 AND w.user_id = $2 AND w.deleted_at IS NULL "
	  "AND ($3::text IS NULL OR d.state = $3) ORDER BY d.created_at DESC, d.id LIMIT $4 OFFSET $5",
	  5 },
	/* At most WEBHOOK_DELIVERIES_COUNT_CAP + 1 rows are counted (an index-only scan of
	 * webhook_deliveries_webhook_state_idx or _webhook_idx): more says "capped". */
	{ "webhook_deliveries_count",
	  "SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
	  "WHERE d.webhook_id = $1 AND w.user_id = $2 AND w.deleted_at IS NULL "
	  "AND ($3::text IS NULL OR d.state = $3) LIMIT " WEBHOOK_DELIVERIES_COUNT_CAP_S " + 1) c",
	  3 },
	/* One delivery of an endpoint of the user's, as the list shows it ($3, by its primary key). */
	{ "webhook_deliveries_get",
	  "SELECT " WEBHOOK_DELIVERY_SELECT " FROM webhook_deliveries d "
	  "JOIN webhook_events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id "
	  "WHERE d.id = $3 AND d.webhook_id = $1 AND w.user_id = $2 AND w.deleted_at IS NULL",
	  3 },
	{ "webhook_deliveries_owned",
	  "SELECT 1 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id "
	  "WHERE d.id = $3 AND d.webhook_id = $1 AND w.user_id = $2 AND w.deleted_at IS NULL",
	  3 },
	/* A delivery's attempts, newest first: a backward scan of UNIQUE (delivery_id, attempt). The
	 * ownership is checked again here, so a page never shows another user's attempts. */
	{ "webhook_attempts_list",
	  "SELECT " WEBHOOK_ATTEMPT_SELECT " FROM webhook_attempts a "
	  "JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN webhooks w ON w.id = d.webhook_id "
	  "WHERE a.delivery_id = $3 AND d.webhook_id = $1 AND w.user_id = $2 AND w.deleted_at IS NULL "
	  "ORDER BY a.attempt DESC LIMIT $4 OFFSET $5",
	  5 },
	{ "webhook_attempts_count",
	  "SELECT count(*) FROM webhook_attempts a "
	  "JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN webhooks w ON w.id = d.webhook_id "
	  "WHERE a.delivery_id = $3 AND d.webhook_id = $1 AND w.user_id = $2 AND w.deleted_at IS NULL",
	  3 },
	/* The delivery a retry is asked for, locked (media-hooks' claim skips it meanwhile): its state,
	 * whether it is pending under a live lease (being sent now), and whether its endpoint is
	 * enabled. */
	{ "webhook_deliveries_lock",
	  "SELECT d.state, d.state = 'pending' AND coalesce(d.lease_until > now(), false), w.enabled "
	  "FROM webhook_deliveries d "
	  "JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $3 AND d.webhook_id = $1 AND w.user_id = $2 "
	  "AND w.deleted_at IS NULL FOR UPDATE OF d",
	  3 },
	/* A manual retry (after webhook_deliveries_lock said it may be): due now, a new retry window
	 * (webhook_max_age), no lease; the attempts so far stay counted. Never a delivered one or one
	 * being sent. RETURNING shows the row as it is now. */
	{ "webhook_deliveries_retry",
	  "UPDATE webhook_deliveries d SET state = 'pending', next_attempt_at = now(), window_from = now(), "
	  "lease_owner = NULL, lease_until = NULL, finished_at = NULL FROM webhook_events e, webhooks w "
	  "WHERE d.id = $3 AND d.webhook_id = $1 AND w.id = d.webhook_id AND w.user_id = $2 AND w.enabled "
	  "AND w.deleted_at IS NULL AND (d.state = 'failed' OR (d.state = 'pending' AND "
	  "(d.lease_until IS NULL OR d.lease_until <= now()))) "
	  "AND e.id = d.event_id RETURNING " WEBHOOK_DELIVERY_SELECT,
	  3 },
	/* views and events: the aggregates are kept by triggers (schema/002_analytics.sql) */
	/* One statement checks the media (and its owner, when a token authorised the view; $3 NULL
	 * when a signed link did) and records the view: no row means 404. */
	{ "views_insert",
	  "INSERT INTO views (media_id, ip) SELECT id, $2::inet FROM media "
	  "WHERE id = $1 AND ($3::bigint IS NULL OR user_id = $3) RETURNING " SQL_TS("viewed_at"),
	  3 },
	/* The view counters are sharded by writer (schema/006_analytics_counters.sql): a day is the sum
	 * of its shards. $2 and $3 (from, to) may be NULL. */
	{ "views_per_day",
	  "SELECT to_char(day, 'YYYY-MM-DD'), sum(views) FROM media_view_day_counts WHERE media_id = $1 "
	  "AND ($2::date IS NULL OR day >= $2::date) AND ($3::date IS NULL OR day <= $3::date) "
	  "GROUP BY day HAVING sum(views) > 0 ORDER BY day",
	  3 },
	/* Exact distinct ips in [$2, $3], O(days) rows (006 proves it): the distinct ips of each day,
	 * less the (ip, day) whose previous day of that ip is in range too; with no $2, the ips whose
	 * first day is by $3. */
	{ "views_unique",
	  "SELECT ((SELECT coalesce(sum(CASE WHEN $2::date IS NULL THEN new_ips ELSE ips END), 0) "
	  "FROM media_view_day_counts WHERE media_id = $1 "
	  "AND ($2::date IS NULL OR day >= $2::date) AND ($3::date IS NULL OR day <= $3::date)) - "
	  "(SELECT coalesce(sum(ips), 0) FROM media_view_returns WHERE media_id = $1 "
	  "AND prev_day >= $2::date AND ($3::date IS NULL OR day <= $3::date)))::bigint",
	  3 },
	{ "events_insert",
	  "INSERT INTO events (project_id, event_type) SELECT id, $3 FROM projects WHERE id = $1 AND user_id = $2 "
	  "RETURNING " EVENT_SELECT,
	  3 },
	{ "events_per_day",
	  "SELECT to_char(day, 'YYYY-MM-DD'), sum(play), sum(click), sum(impression) "
	  "FROM project_event_day_counts WHERE project_id = $1 GROUP BY day ORDER BY day",
	  1 },
	/* revoked tokens (store/revocations.c): the insert also prunes up to 100 expired rows, skipping
	 * rows another logout is pruning, so the table stays bounded without a cron job. */
	{ "revocations_insert",
	  "WITH pruned AS (DELETE FROM revoked_tokens WHERE jti IN (SELECT jti FROM revoked_tokens "
	  "WHERE expires_at < now() ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)) "
	  "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, to_timestamp($3)) "
	  "ON CONFLICT (jti) DO NOTHING",
	  3 },
	{ "revocations_get", "SELECT 1 FROM revoked_tokens WHERE jti = $1", 1 },
	/* What the Redis copy is filled from: every revocation still in force, with its seconds left. */
	{ "revocations_unexpired",
	  "SELECT jti, ceil(extract(epoch FROM expires_at - now()))::bigint FROM revoked_tokens "
	  "WHERE expires_at > now() LIMIT $1",
	  1 },
	/* failed logins per account without Redis (store/login_failures.c, schema/011): $1 the key,
	 * $2 the window in seconds. One failure: a new row, or one more in the window, or a new
	 * window at 1 when the old one ended; and up to 100 finished windows of other keys go (the
	 * key's own row is left to the upsert: a statement may change a row once), skipping rows
	 * another login holds. Returns the count and the window's seconds left. */
	{ "login_failures_hit",
	  "WITH pruned AS (DELETE FROM login_failures WHERE key IN (SELECT key FROM login_failures "
	  "WHERE window_start <= now() - $2 * interval '1 second' AND key <> $1 "
	  "ORDER BY window_start LIMIT 100 FOR UPDATE SKIP LOCKED)) "
	  "INSERT INTO login_failures AS f (key, window_start, failures) VALUES ($1, now(), 1) "
	  "ON CONFLICT (key) DO UPDATE SET "
	  "window_start = CASE WHEN f.window_start <= now() - $2 * interval '1 second' THEN now() "
	  "ELSE f.window_start END, "
	  "failures = CASE WHEN f.window_start <= now() - $2 * interval '1 second' THEN 1 "
	  "ELSE f.failures + 1 END "
	  "RETURNING f.failures, "
	  "ceil(extract(epoch FROM f.window_start + $2 * interval '1 second' - now()))::bigint",
	  2 },
	/* A success: the key's row goes, and up to 100 finished windows with it. */
	{ "login_failures_clear",
	  "DELETE FROM login_failures WHERE key = $1 OR key IN (SELECT key FROM login_failures "
	  "WHERE window_start <= now() - $2 * interval '1 second' ORDER BY window_start LIMIT 100 "
	  "FOR UPDATE SKIP LOCKED)",
	  2 },
	/* renditions (store/renditions.c): HLS variants, posters and storyboards of a media */
	{ "renditions_list",
	  "SELECT " RENDITION_SELECT
	  " FROM media_renditions WHERE media_id = $1 AND ($2::text IS NULL OR kind = $2) "
	  "ORDER BY bandwidth NULLS LAST, name LIMIT $3",
	  3 },
	{ "renditions_get",
	  "SELECT " RENDITION_SELECT " FROM media_renditions WHERE media_id = $1 AND kind = $2 AND name = $3",
	  3 },
	/* The poster and the storyboard are the rows of those names, as GET /media/:id/poster.jpg and
	 * /media/:id/storyboard.vtt look them up. */
	{ "renditions_kinds",
	  "SELECT coalesce(bool_or(kind = 'hls'), false), "
	  "coalesce(bool_or(kind = 'poster' AND name = 'poster'), false), "
	  "coalesce(bool_or(kind = 'storyboard' AND name = 'storyboard'), false) "
	  "FROM media_renditions WHERE media_id = $1",
	  1 },
	RENDITIONS_JSON_STMT,
	/* resumable uploads (store/uploads.c): scoped by user_id, but for the completion, which runs
	 * in the media row's transaction after the owner's row was read */
	{ "uploads_create",
	  "INSERT INTO uploads (user_id, project_id, upload_length, filename, title, kind, expires_at, "
	  "metadata) "
	  "SELECT $1, $2, $3, $4, $5, $6, now() + $7 * interval '1 second', $8 "
	  "WHERE $2::bigint IS NULL OR EXISTS (SELECT 1 FROM projects WHERE id = $2 AND user_id = $1) "
	  "RETURNING " UPLOAD_SELECT,
	  8 },
	/* The uploads of $1 still receiving and unexpired: how many, and the bytes they announced. */
	{ "uploads_open",
	  "SELECT count(*), coalesce(sum(upload_length), 0) FROM uploads " UPLOADS_OPEN_WHERE("$1"), 1 },
	{ "uploads_get", "SELECT " UPLOAD_SELECT " FROM uploads WHERE id = $1 AND user_id = $2", 2 },
	{ "uploads_set_offset",
	  "UPDATE uploads SET upload_offset = $3, updated_at = now() "
	  "WHERE id = $1 AND user_id = $2 AND state = 'receiving' AND upload_offset <= $3 "
	  "AND $3 < upload_length RETURNING 1",
	  3 },
	{ "uploads_complete",
	  "UPDATE uploads SET state = 'complete', media_id = $2, upload_offset = upload_length, "
	  "updated_at = now() WHERE id = $1 AND state = 'receiving' RETURNING 1",
	  2 },
	{ "uploads_fail",
	  "UPDATE uploads SET state = 'failed', updated_at = now() "
	  "WHERE id = $1 AND user_id = $2 AND state = 'receiving' RETURNING 1",
	  2 },
	{ "uploads_delete", "DELETE FROM uploads WHERE id = $1 AND user_id = $2 RETURNING 1", 2 },
};

const int store_statements_count = (int)(sizeof(store_statements) / sizeof(store_statements[0]));
