-- 010_uploads.sql: resumable uploads (tus 1.0.0, issue 15): one row per upload, from its creation
-- (POST /uploads) until it expires.
--
-- upload_offset is the truth about the bytes: the partial file (uploads/.tus-<id>.part, named from
-- the id alone, created with the row) is fdatasync'd before the offset that covers it is written
-- here, so a byte counted here survives any crash; bytes of the file past it were never
-- acknowledged and are cut off by the next PATCH. The offset stays below upload_length while the
-- upload is receiving: when the last byte arrives the file is probed, hard-linked under its media
-- name, and only in the media row's own transaction does upload_offset become upload_length, with
-- state 'complete' and media_id set. Until that commits, nothing is lost (the partial file stays)
-- and a client that asks HEAD resumes from the last checkpoint; a retried last PATCH finds the
-- upload complete and makes no second row.
CREATE TABLE uploads (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id    bigint REFERENCES projects (id) ON DELETE CASCADE,
    upload_length bigint NOT NULL CHECK (upload_length > 0),
    upload_offset bigint NOT NULL DEFAULT 0 CHECK (upload_offset BETWEEN 0 AND upload_length),
    filename      text NOT NULL DEFAULT '',
    title         text NOT NULL DEFAULT '',
    kind          text NOT NULL DEFAULT '' CHECK (kind IN ('', 'image', 'video', 'audio')),
    -- Upload-Metadata as the client sent it, for HEAD to echo (tus creation extension).
    metadata      text NOT NULL DEFAULT '' CHECK (octet_length(metadata) <= 4096),
    state         text NOT NULL DEFAULT 'receiving' CHECK (state IN ('receiving', 'complete', 'failed')),
    media_id      bigint REFERENCES media (id) ON DELETE SET NULL,
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- The whole length is only ever recorded with the media row (see above).
    CHECK (state = 'complete' OR upload_offset < upload_length)
);
CREATE INDEX uploads_user_idx ON uploads (user_id, created_at);
-- mediactl gc: the expired ones.
CREATE INDEX uploads_expires_idx ON uploads (expires_at);
