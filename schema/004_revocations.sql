-- 004_revocations.sql: revoked login tokens, durably (issue 11). Redis holds a copy for speed only,
-- so a Redis restart, flush or outage never makes a logged-out token valid again.
--
-- One row per logout, keyed by the token's id (jti), kept until the token could no longer be
-- accepted anyway (its exp plus the clock-skew leeway). Every insert also deletes up to 100 rows
-- past that time, so the table holds at most about two token lifetimes' worth of logouts.
-- No foreign key to users: deleting an account must not un-revoke its tokens, nor wait on them.
CREATE TABLE revoked_tokens (
    jti        text PRIMARY KEY CHECK (jti ~ '^[0-9a-f]{32}$'),
    user_id    bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);
