-- 007_renditions.sql: what the rendition presets (hls, poster, storyboard) make of a media, and
-- the media's status while they run (issue 14).
--
-- A rendition job writes one folder, outputs/<job uuid>/, and on success records one row per
-- thing a player asks for:
--   hls         one row per variant: name '240p'..'1080p' (or 'a64k', 'a128k' for audio only),
--               path '<name>/index.m3u8'; the variant's init_<n>.mp4 and seg_<nnnnn>.m4s lie
--               beside it. mediad writes the master playlist from these rows.
--   poster      name 'poster', path 'poster.jpg'.
--   storyboard  name 'storyboard', path 'storyboard.vtt'; the sprite is storyboard.jpg beside it.
-- A newer job of the same kind replaces the rows of the older one (its folder is removed).
CREATE TABLE media_renditions (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    media_id          bigint NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    job_id            uuid NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('hls', 'poster', 'storyboard')),
    name              text NOT NULL CHECK (name ~ '^[a-z0-9]{1,16}$'),
    -- the job's folder, relative to the media root
    dir               text NOT NULL CHECK (dir ~ '^outputs/[0-9a-f-]{36}$'),
    -- relative to dir
    path              text NOT NULL CHECK (path ~ '^[a-z0-9]{1,16}(/[a-z0-9_]{1,32}\.[a-z0-9]{2,4}|\.[a-z0-9]{2,4})$'),
    width             integer,
    height            integer,
    -- bits per second: the peak segment rate (HLS BANDWIDTH) and the average
    bandwidth         bigint,
    average_bandwidth bigint,
    -- RFC 6381, e.g. 'avc1.64001f,mp4a.40.2'
    codecs            text CHECK (octet_length(codecs) <= 64),
    -- frames per second, e.g. 25.000 or 29.970
    frame_rate        numeric(7, 3),
    size_bytes        bigint NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (media_id, kind, name)
);
CREATE INDEX media_renditions_job_idx ON media_renditions (job_id);

-- Why a media is 'failed': the failed rendition job's preset and reason.
ALTER TABLE media
    ADD COLUMN status_reason text CHECK (char_length(status_reason) <= 600),
    -- frames per second of the first real video stream, from ffprobe's avg_frame_rate
    ADD COLUMN frame_rate numeric(7, 3);

-- A /media upload has no project, and its automatic renditions are jobs too.
ALTER TABLE render_jobs ALTER COLUMN project_id DROP NOT NULL;
CREATE INDEX render_jobs_input_idx ON render_jobs (input_media_id, preset, created_at);

-- The media's status follows its rendition jobs: for each rendition preset, the newest job on the
-- media counts. Any of those failed or cancelled: 'failed' (with the reasons); else any waiting or
-- active: 'processing'; else 'ready'. Kept by a trigger, so every path that moves a job (the
-- spawner, the reaper, a cancel) keeps the media right. The media row is locked first (NO KEY
-- UPDATE: foreign-key checks of rendition rows do not wait on it): two jobs of one media finishing
-- at once take turns, and the second sees the first's state (each statement of a volatile function
-- reads what was committed before it started).
CREATE FUNCTION media_status_from_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    st text;
    why text;
BEGIN
    IF NEW.input_media_id IS NULL OR NEW.preset NOT IN ('hls', 'poster', 'storyboard') THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM media WHERE id = NEW.input_media_id FOR NO KEY UPDATE;
    SELECT CASE WHEN bool_or(l.state IN ('failed', 'cancelled')) THEN 'failed'
                WHEN bool_or(l.state IN ('waiting', 'active')) THEN 'processing'
                ELSE 'ready' END,
           string_agg(CASE WHEN l.state = 'failed' THEN l.preset || ': ' || coalesce(l.failed_reason, 'failed')
                           WHEN l.state = 'cancelled' THEN l.preset || ': cancelled' END, '; ' ORDER BY l.preset)
      INTO st, why
      FROM (SELECT DISTINCT ON (j.preset) j.preset, j.state, j.failed_reason
              FROM render_jobs j
             WHERE j.input_media_id = NEW.input_media_id AND j.preset IN ('hls', 'poster', 'storyboard')
             ORDER BY j.preset, j.created_at DESC, j.id) l;
    UPDATE media SET status = coalesce(st, 'ready'), status_reason = left(why, 600)
     WHERE id = NEW.input_media_id AND (status, status_reason) IS DISTINCT FROM (coalesce(st, 'ready'), left(why, 600));
    RETURN NULL;
END;
$$;
CREATE TRIGGER render_jobs_media_status AFTER INSERT OR UPDATE OF state ON render_jobs
    FOR EACH ROW EXECUTE FUNCTION media_status_from_jobs();
