-- 003_render_faults.sql: what the render queue needs to survive faults (issue 10).
--
-- render_jobs.fence counts claims and is never decremented: every write a spawner makes after its
-- claim names the fence it got, so an attempt that lost its lease can never touch the job again.
-- attempts now counts only the runs charged to the job (ffmpeg failing, crashing, timing out);
-- interruptions counts the runs lost to the infrastructure (a killed spawner, a lost lease, a
-- database outage), which have their own ceiling (render_max_interruptions).
ALTER TABLE render_jobs
    ADD COLUMN fence         bigint NOT NULL DEFAULT 0,
    ADD COLUMN interruptions integer NOT NULL DEFAULT 0,
    ADD COLUMN heartbeat_at  timestamptz;
UPDATE render_jobs SET fence = attempts;

-- The per-user cap on waiting + active jobs counts these; the fair claim asks each user's latest
-- claim (round robin: the user served least recently goes first).
CREATE INDEX render_jobs_user_open_idx ON render_jobs (user_id, state) WHERE state IN ('waiting', 'active');
CREATE INDEX render_jobs_user_started_idx ON render_jobs (user_id, started_at);

-- Where a media row came from: an upload, or a render (with its job). Render outputs are media so
-- stream links work, but they are never the default input of a render and not listed as assets
-- unless asked for.
ALTER TABLE media
    ADD COLUMN origin        text NOT NULL DEFAULT 'upload' CHECK (origin IN ('upload', 'render')),
    ADD COLUMN render_job_id uuid;
UPDATE media m SET origin = 'render', render_job_id = j.id FROM render_jobs j WHERE j.output_media_id = m.id;
UPDATE media SET origin = 'render' WHERE path LIKE 'outputs/%';
ALTER TABLE media ADD CONSTRAINT media_origin_job CHECK (origin = 'render' OR render_job_id IS NULL);

-- One row per spawner, upserted by its heartbeat: what `mediactl status` shows.
CREATE TABLE spawners (
    name          text PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 128),
    host          text NOT NULL CHECK (octet_length(host) <= 255),
    pid           integer NOT NULL,
    version       text NOT NULL CHECK (octet_length(version) <= 64),
    slots         integer NOT NULL,
    running       integer NOT NULL DEFAULT 0,
    started_at    timestamptz NOT NULL DEFAULT now(),
    seen_at       timestamptz NOT NULL DEFAULT now(),
    last_error    text CHECK (octet_length(last_error) <= 500),
    last_error_at timestamptz
);
