-- 005_media_status.sql: a media row's readiness, for HLS: a file being packaged is 'processing',
-- one that could not be is 'failed'. Every row so far, and every upload and render output until
-- then, is 'ready'.
ALTER TABLE media
    ADD COLUMN status text NOT NULL DEFAULT 'ready' CHECK (status IN ('processing', 'ready', 'failed'));
