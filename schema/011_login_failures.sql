-- 011_login_failures.sql: failed logins per account for the account lock (login_fail_account)
-- when mediad runs without Redis (redis_url empty). Each responder process counts into the same
-- row, so the lock holds for the whole host, however many processes the web server runs (mod_fcgid
-- may run a hundred); with Redis the count lives there and this table stays empty.
--
-- One row per account key: the hex of the email's 16-byte BLAKE2b hash, the key Redis uses too
-- (so no address is stored), with a fixed window like Redis's INCR + EXPIRE NX: the first failure
-- starts it, and a failure after it ends starts a new one at 1. A success deletes the row. Every
-- failure and success also deletes up to 100 rows whose window ended, so the table stays bounded
-- without a cron job.
CREATE TABLE login_failures (
    key          text PRIMARY KEY CHECK (key ~ '^[0-9a-f]{32}$'),
    window_start timestamptz NOT NULL DEFAULT now(),
    failures     integer NOT NULL CHECK (failures > 0)
);
CREATE INDEX login_failures_window_idx ON login_failures (window_start);
