-- 001_init.sql: users, projects, media, render jobs, project events and media views.
-- Applied once by `mediactl migrate`; later changes go in new numbered files.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (octet_length(email) BETWEEN 3 AND 254 AND email = lower(email)),
    password_hash text NOT NULL,
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE projects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description text CHECK (char_length(description) <= 5000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_user_idx ON projects (user_id, id);

-- Every stored file is a media row: a project asset (project_id set), a /media upload
-- (project_id NULL) or a render output. path is relative to the media root and made by the server.
CREATE TABLE media (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id    bigint REFERENCES projects (id) ON DELETE CASCADE,
    title         text NOT NULL CHECK (char_length(title) <= 255),
    kind          text NOT NULL CHECK (kind IN ('image', 'video', 'audio')),
    mime          text NOT NULL,
    path          text NOT NULL UNIQUE CHECK (path ~ '^(uploads|outputs)/[A-Za-z0-9._-]+$'),
    size_bytes    bigint NOT NULL CHECK (size_bytes >= 0),
    duration_ms   bigint,
    width         integer,
    height        integer,
    video_codec   text,
    audio_codec   text,
    original_name text CHECK (octet_length(original_name) <= 255),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX media_user_idx ON media (user_id, id);
CREATE INDEX media_project_idx ON media (project_id, id) WHERE project_id IS NOT NULL;

CREATE TABLE render_jobs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id      bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    input_media_id  bigint REFERENCES media (id) ON DELETE SET NULL,
    input_path      text NOT NULL,
    output_path     text NOT NULL UNIQUE,
    preset          text NOT NULL,
    state           text NOT NULL DEFAULT 'waiting'
                    CHECK (state IN ('waiting', 'active', 'completed', 'failed', 'cancelled')),
    progress        smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL DEFAULT 3,
    run_after       timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    lease_until     timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    failed_reason   text CHECK (octet_length(failed_reason) <= 500),
    output_media_id bigint REFERENCES media (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX render_jobs_ready_idx ON render_jobs (run_after) WHERE state = 'waiting';
CREATE INDEX render_jobs_lease_idx ON render_jobs (lease_until) WHERE state = 'active';
CREATE INDEX render_jobs_project_idx ON render_jobs (project_id, created_at);

CREATE TABLE events (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_type text NOT NULL CHECK (event_type IN ('play', 'click', 'impression')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_project_idx ON events (project_id, created_at);

CREATE TABLE views (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    media_id  bigint NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    ip        inet NOT NULL,
    viewed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX views_media_idx ON views (media_id, viewed_at);
