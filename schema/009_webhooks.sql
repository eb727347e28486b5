-- 009_webhooks.sql: webhook endpoints, the outbox of events for them, and each delivery's attempts
-- (issue 15).
--
-- Never lost, never invented: an event is written by a trigger on the row whose change it
-- describes, in that change's own transaction. A crash after the commit loses nothing (the outbox
-- row is there for media-hooks to send); a rolled-back change rolls its event back with it. Every
-- path that moves a job or a media row (the API, the spawner, the reaper, a cascade) is covered
-- because the trigger is on the row, not in the code paths.
--
-- The event stores a snapshot of the row (to_jsonb), not our API JSON: the API JSON is built by C
-- (store/jobs.c JOB_COLUMNS, store/media.c media_json), so media-hooks builds the payload from the
-- snapshot with the same code, once per event (payload), and every attempt at every endpoint sends
-- those same bytes. What a media's JSON adds to its row (its renditions and rendition jobs) is
-- snapshotted too, by the SQL functions GET /media/:id itself calls (media_renditions_json,
-- media_rendition_jobs_json below): the data is the media as it was when the event happened.
--
-- Endpoints are deleted softly (deleted_at): a DELETE /webhooks/:id is one row update, which takes
-- no lock a concurrent change's fan-out holds (FOR KEY SHARE), so the change never fails on the
-- delete and the delete never waits for it. mediactl gc removes a deleted endpoint's deliveries by
-- pages, then its row.
CREATE TABLE webhooks (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url                  text NOT NULL CHECK (octet_length(url) BETWEEN 1 AND 2048),
    events               text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 16 AND events <@ ARRAY[
                             'job.completed', 'job.failed', 'job.cancelled',
                             'media.ready', 'media.failed', 'media.deleted']::text[]),
    -- The HMAC-SHA256 key (its bytes as written), shown to the user once, at creation.
    secret               text NOT NULL CHECK (octet_length(secret) BETWEEN 16 AND 128),
    enabled              boolean NOT NULL DEFAULT true,
    -- failed attempts in a row, across deliveries; a 2xx resets it, reaching
    -- webhook_disable_after disables the endpoint
    consecutive_failures integer NOT NULL DEFAULT 0,
    disabled_at          timestamptz,
    disabled_reason      text CHECK (char_length(disabled_reason) <= 600),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    -- set by DELETE /webhooks/:id (with enabled false): invisible to the API, no new deliveries,
    -- none sent; mediactl gc removes the row once its deliveries are gone
    deleted_at           timestamptz,
    CHECK (deleted_at IS NULL OR NOT enabled)
);
CREATE INDEX webhooks_user_idx ON webhooks (user_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX webhooks_deleted_idx ON webhooks (deleted_at) WHERE deleted_at IS NOT NULL;

-- No foreign key to users: a user's deletion cascades to media, whose delete trigger runs while the
-- user row is going. Events without deliveries are removed by mediactl gc.
CREATE TABLE webhook_events (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    bigint NOT NULL,
    type       text NOT NULL CHECK (type IN ('job.completed', 'job.failed', 'job.cancelled',
                                             'media.ready', 'media.failed', 'media.deleted')),
    -- the changed row as to_jsonb saw it (render_jobs for job.*, media for media.*)
    subject    jsonb NOT NULL,
    -- media.ready and media.failed: {"renditions": [...], "renditionJobs": [...]} as GET
    -- /media/:id showed them when the event happened (json keeps their text as written); null
    -- for the other types
    renditions json,
    -- {"id", "type", "createdAt", "data"} as sent; null until media-hooks first builds it
    payload    text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One per (event, endpoint). media-hooks claims due rows with FOR UPDATE SKIP LOCKED and a lease,
-- as media-spawner claims render jobs: a delivery process killed mid-request leaves a lease that
-- expires, and another (or the same, restarted) process sends the event again. Receivers
-- deduplicate by the event id (Mediad-Event-Id), as with any at-least-once delivery.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id       uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_owner      text CHECK (octet_length(lease_owner) <= 128),
    lease_until      timestamptz,
    -- the start of the retry window (webhook_max_age): creation, or a manual retry
    window_from      timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text CHECK (char_length(last_error) <= 600),
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (event_id, webhook_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at DESC, id);
-- GET /webhooks/:id/deliveries?state=...: the page and its (capped) count.
CREATE INDEX webhook_deliveries_webhook_state_idx ON webhook_deliveries (webhook_id, state, created_at DESC, id);
-- mediactl gc: finished deliveries past webhook_retention, oldest first.
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at) WHERE state <> 'pending';

CREATE TABLE webhook_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt       integer NOT NULL,
    started_at    timestamptz NOT NULL,
    -- null when no HTTP status came back (refused, timed out, blocked address)
    status_code   integer,
    latency_ms    integer NOT NULL,
    error         text CHECK (char_length(error) <= 600),
    -- the receiver's answer, read up to 4 KiB
    response_body text CHECK (octet_length(response_body) <= 4096),
    UNIQUE (delivery_id, attempt)
);

-- The JSON arrays GET /media/:id shows as "renditions" and "renditionJobs" (the C macros
-- RENDITIONS_JSON_SQL and RENDITION_JOBS_JSON_SQL of store/renditions.h call these, so the API and
-- the webhook snapshot share one definition):
-- - renditions: [{kind, name, resolution ("WxH" or null), width, height, bitrate (the average),
--   bandwidth (the peak), codecs, frameRate, path (relative to the media root), sizeBytes}];
-- - rendition jobs: the newest job of each rendition preset (what the media's status follows,
--   schema/007): [{id, preset, state, progress, failedReason}], by preset.
-- [] when there are none.
CREATE FUNCTION media_renditions_json(p_media bigint) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT json_agg(json_build_object('kind', r.kind, 'name', r.name, 'resolution',
        CASE WHEN r.width IS NOT NULL AND r.height IS NOT NULL THEN r.width || 'x' || r.height END,
        'width', r.width, 'height', r.height, 'bitrate', r.average_bandwidth, 'bandwidth', r.bandwidth,
        'codecs', r.codecs, 'frameRate', r.frame_rate, 'path', r.dir || '/' || r.path,
        'sizeBytes', r.size_bytes) ORDER BY r.kind, r.bandwidth NULLS LAST, r.name)
        FROM media_renditions r WHERE r.media_id = p_media), '[]')
$$;
CREATE FUNCTION media_rendition_jobs_json(p_media bigint) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT json_agg(json_build_object('id', l.id, 'preset', l.preset, 'state', l.state,
        'progress', l.progress, 'failedReason', l.failed_reason) ORDER BY l.preset)
        FROM (SELECT DISTINCT ON (j.preset) j.id, j.preset, j.state, j.progress, j.failed_reason
              FROM render_jobs j WHERE j.input_media_id = p_media AND j.preset IN ('hls', 'poster', 'storyboard')
              ORDER BY j.preset, j.created_at DESC, j.id) l), '[]')
$$;

-- Writes an event for user and fans it out to the user's enabled, undeleted endpoints that
-- subscribe to its type; nothing at all when none does. p_media (media.ready, media.failed): the
-- media whose renditions and rendition jobs the event keeps as they are now. Wakes media-hooks (a
-- hint: it polls as well).
--
-- The endpoints are locked FOR KEY SHARE before the deliveries name them: a soft delete or a PATCH
-- (no key change) does not conflict with it, and one committed since this statement's snapshot is
-- seen (the row is read again) and that endpoint skipped; only mediactl gc's removal of a deleted
-- endpoint's row waits, so the deliveries' foreign key can never fail the change.
CREATE FUNCTION webhook_emit(p_user bigint, p_type text, p_subject jsonb, p_media bigint DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ev uuid;
    hooks uuid[];
BEGIN
    SELECT array_agg(w.id) INTO hooks FROM (SELECT id FROM webhooks WHERE user_id = p_user AND enabled
        AND deleted_at IS NULL AND p_type = ANY (events) ORDER BY id FOR KEY SHARE) w;
    IF hooks IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO webhook_events (user_id, type, subject, renditions)
        VALUES (p_user, p_type, p_subject, CASE WHEN p_media IS NOT NULL THEN json_build_object(
            'renditions', media_renditions_json(p_media), 'renditionJobs', media_rendition_jobs_json(p_media)) END)
        RETURNING id INTO ev;
    INSERT INTO webhook_deliveries (webhook_id, event_id) SELECT h, ev FROM unnest(hooks) AS h;
    PERFORM pg_notify('webhook_deliveries', '');
END
$$;

CREATE FUNCTION webhook_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_emit(NEW.user_id, 'job.' || NEW.state, to_jsonb(NEW));
    RETURN NULL;
END
$$;
CREATE TRIGGER render_jobs_webhook AFTER UPDATE OF state ON render_jobs
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state AND NEW.state IN ('completed', 'failed', 'cancelled'))
    EXECUTE FUNCTION webhook_job_event();

CREATE FUNCTION webhook_media_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM webhook_emit(OLD.user_id, 'media.deleted', to_jsonb(OLD));
        RETURN NULL;
    END IF;
    PERFORM webhook_emit(NEW.user_id, 'media.' || NEW.status, to_jsonb(NEW), NEW.id);
    RETURN NULL;
END
$$;
-- media.ready and media.failed: a media whose renditions were being made ('processing') is done.
-- A media that never had rendition jobs is inserted 'ready' and sends nothing. The event of the
-- rendition job that ended it (job.completed, job.failed) is written in the same transaction;
-- receivers get the two in no set order (each delivery is sent on its own).
CREATE TRIGGER media_webhook_status AFTER UPDATE OF status ON media
    FOR EACH ROW WHEN (OLD.status = 'processing' AND NEW.status IN ('ready', 'failed'))
    EXECUTE FUNCTION webhook_media_event();
CREATE TRIGGER media_webhook_delete AFTER DELETE ON media
    FOR EACH ROW EXECUTE FUNCTION webhook_media_event();
