-- 008_renditions_bytes.sql: the bytes of a media's renditions (the sum of their size_bytes), kept
-- by the job that records them (render/queue.c), so that what a user stores (storage_quota_bytes,
-- GET /auth/me) stays one scan of the user's media rows.
ALTER TABLE media ADD COLUMN renditions_bytes bigint NOT NULL DEFAULT 0;
UPDATE media m SET renditions_bytes = r.bytes
  FROM (SELECT media_id, sum(size_bytes) AS bytes FROM media_renditions GROUP BY media_id) r
 WHERE r.media_id = m.id;
