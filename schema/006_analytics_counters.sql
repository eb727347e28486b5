-- 006_analytics_counters.sql: analytics aggregates that a write updates in a few cheap rows with no
-- hot row, and exact unique IPs over any [from, to] read in O(days), not O(ip-days) (issue 13).
--
-- Writes. 002's trigger ran four set queries per statement, and every writer of a media (or a
-- project) then waited on one row per (media, day) and one per media, locked until its commit's
-- fsync. Now a view updates counter rows keyed also by `shard` (pg_backend_pid() % 16): concurrent
-- connections mostly update rows of their own, and a reader sums the shards. The counts stay exact
-- and in the inserting transaction: a reader never sees a view without its counts, and a
-- rolled-back insert counts nothing.
--
-- Unique IPs. For each (media, ip, day) with a view, let prev be the last earlier day that ip viewed
-- that media (none for its first day). An ip viewed the media in [f, t] iff it has a day in [f, t];
-- counting it on its first such day only, the one whose prev is before f (or none), gives
--     unique(f, t) = #{(ip, d): f <= d <= t, prev < f or none}
--                  = sum over d in [f, t] of ips(d)  -  #{(ip, d): f <= prev, d <= t}
-- (prev < d, so f <= prev implies f < d), and unique(-inf, t) = sum over d <= t of new_ips(d).
-- ips(d), the distinct ips of day d, and new_ips(d), those with no prev, are columns of
-- media_view_day_counts; media_view_returns counts the (ip, d) by (prev, d). A read sums at most
-- shards x (days in range) day rows and shards x (days from f on)^2 / 2 pair rows, however many
-- ips there are. media_view_ip_days keeps the distinct (media, ip, day), to find prev.
--
-- A day d inserted between two days p < d < n of its ip (views arriving out of order) becomes the
-- prev of n: the pair (p, n) (or n's new_ips, when there was no p) loses one, and (d, n) gains one.
-- Two transactions adding days of one (media, ip) must see each other's: a single row takes a
-- transaction-level advisory lock on hash(media, ip) before it looks, and under READ COMMITTED each
-- query of the trigger sees what committed before it started, so the second sees the first (under
-- SERIALIZABLE, SSI fails one of the two instead). REPEATABLE READ would look through its older
-- snapshot and miss the other: the trigger refuses it.
--
-- Bulk loads. Row by row, each of those views costs a lock and a few index probes, and one
-- transaction updating a counter row many times walks an ever longer chain of its own row versions:
-- 1,000,000 views in one INSERT took over 16 minutes before it was cancelled. So the trigger is a
-- statement-level one and looks at the size of its transition table: up to 64 rows go one by one,
-- more by set queries (window functions over the ips' days, old and new) under a SHARE ROW
-- EXCLUSIVE lock on media_view_ip_days, which waits for the writers in flight and keeps out new
-- ones until commit. Any statement is exact either way. 1,000,000 views of one media over 90 days
-- from 100,000 ips in one INSERT (bench/run.sh), on a shared 2-core machine: 002's trigger 32 and
-- 34 s, this one 30 and 34 s (two runs each). This migration's backfill of those: 17 s.

-- ---- tables ------------------------------------------------------------------------------------

CREATE TABLE media_view_day_counts (
    media_id bigint NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    day      date NOT NULL,
    shard    smallint NOT NULL,
    views    bigint NOT NULL DEFAULT 0,
    ips      bigint NOT NULL DEFAULT 0, -- distinct ips that viewed on day
    new_ips  bigint NOT NULL DEFAULT 0, -- those whose first view of the media was on day
    PRIMARY KEY (media_id, day, shard)
) WITH (fillfactor = 50); -- room for HOT updates of the counters

CREATE TABLE media_view_returns (
    media_id bigint NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    prev_day date NOT NULL,
    day      date NOT NULL,
    shard    smallint NOT NULL,
    ips      bigint NOT NULL DEFAULT 0, -- ips that viewed on day and, before that, last on prev_day
    PRIMARY KEY (media_id, prev_day, day, shard)
) WITH (fillfactor = 50);

-- 002's table, keyed for "the days of this ip" instead of "the ips of this day".
CREATE TABLE media_view_ip_days (
    media_id bigint NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    ip       inet NOT NULL,
    day      date NOT NULL,
    PRIMARY KEY (media_id, ip, day)
);

CREATE TABLE project_event_day_counts (
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    day        date NOT NULL,
    shard      smallint NOT NULL,
    play       bigint NOT NULL DEFAULT 0,
    click      bigint NOT NULL DEFAULT 0,
    impression bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, day, shard)
) WITH (fillfactor = 50);

-- ---- backfill, from the rows themselves (shard 0) ------------------------------------------------

-- No view or event may be added while this transaction reads them (it waits for those in flight).
LOCK TABLE views, events IN SHARE MODE;

INSERT INTO media_view_ip_days (media_id, ip, day)
    SELECT DISTINCT media_id, ip, (viewed_at AT TIME ZONE 'UTC')::date FROM views;

WITH seq AS (
    SELECT media_id, day, lag(day) OVER (PARTITION BY media_id, ip ORDER BY day) AS prev
    FROM media_view_ip_days
), per_day AS (
    SELECT media_id, day, count(*) AS ips, count(*) FILTER (WHERE prev IS NULL) AS new_ips
    FROM seq GROUP BY media_id, day
), ins AS (
    INSERT INTO media_view_returns (media_id, prev_day, day, shard, ips)
        SELECT media_id, prev, day, 0, count(*) FROM seq WHERE prev IS NOT NULL GROUP BY media_id, prev, day
)
INSERT INTO media_view_day_counts (media_id, day, shard, views, ips, new_ips)
    SELECT v.media_id, v.day, 0, v.views, p.ips, p.new_ips
    FROM (SELECT media_id, (viewed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS views
          FROM views GROUP BY 1, 2) v
    JOIN per_day p USING (media_id, day);

INSERT INTO project_event_day_counts (project_id, day, shard, play, click, impression)
    SELECT project_id, (created_at AT TIME ZONE 'UTC')::date, 0,
           count(*) FILTER (WHERE event_type = 'play'),
           count(*) FILTER (WHERE event_type = 'click'),
           count(*) FILTER (WHERE event_type = 'impression')
    FROM events GROUP BY 1, 2;

DROP TRIGGER views_aggregate ON views;
DROP TRIGGER events_aggregate ON events;
DROP FUNCTION views_aggregate();
DROP FUNCTION events_aggregate();
DROP TABLE media_view_totals, media_view_days, media_view_ips, media_view_day_ips, project_event_days;

-- ---- views ---------------------------------------------------------------------------------------

-- After each INSERT into views, over its transition table: up to 64 rows one by one, each under a
-- lock on its (media, ip); more (a bulk load) with set queries under one table lock.
CREATE FUNCTION views_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v record;
    n_rows bigint := 0;
    my_shard smallint := pg_backend_pid() % 16;
    locks int;
    before_day date;
    after_day date;
BEGIN
    -- In (media, ip) order: two statements locking overlapping ips take the locks in one order.
    FOR v IN SELECT media_id, ip, (viewed_at AT TIME ZONE 'UTC')::date AS day, count(*) OVER () AS n
             FROM new_rows ORDER BY media_id, ip LOOP
        n_rows := v.n;
        EXIT WHEN n_rows > 64;
        -- Not the ip's first view that day (the common case): one counter. A concurrent first
        -- view of the same (media, ip, day) makes this wait for its commit, then see the row.
        INSERT INTO media_view_ip_days (media_id, ip, day) VALUES (v.media_id, v.ip, v.day)
            ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            INSERT INTO media_view_day_counts AS c (media_id, day, shard, views)
                VALUES (v.media_id, v.day, my_shard, 1)
                ON CONFLICT (media_id, day, shard) DO UPDATE SET views = c.views + 1;
            CONTINUE;
        END IF;
        IF current_setting('transaction_isolation') = 'repeatable read' THEN
            RAISE EXCEPTION 'views are counted under READ COMMITTED or SERIALIZABLE, not REPEATABLE READ';
        END IF;
        -- The ip's neighbouring days, as committed by whoever held this lock before. The lock
        -- table has room for about max_locks_per_transaction (64) locks per connection: past 64
        -- ips in one transaction (many INSERTs), the table lock of the set path instead.
        locks := coalesce(nullif(current_setting('mediad.views_ip_locks', true), ''), '0')::int;
        IF locks < 64 THEN
            PERFORM pg_advisory_xact_lock(hashtextextended(v.ip::text, v.media_id));
        ELSIF locks = 64 THEN
            LOCK TABLE media_view_ip_days IN SHARE ROW EXCLUSIVE MODE;
        END IF;
        IF locks <= 64 THEN
            PERFORM set_config('mediad.views_ip_locks', (locks + 1)::text, true);
        END IF;
        SELECT max(i.day) FILTER (WHERE i.day < v.day), min(i.day) FILTER (WHERE i.day > v.day)
            INTO before_day, after_day
            FROM media_view_ip_days i WHERE i.media_id = v.media_id AND i.ip = v.ip;
        INSERT INTO media_view_day_counts AS c (media_id, day, shard, views, ips, new_ips)
            VALUES (v.media_id, v.day, my_shard, 1, 1, CASE WHEN before_day IS NULL THEN 1 ELSE 0 END)
            ON CONFLICT (media_id, day, shard) DO UPDATE
                SET views = c.views + 1, ips = c.ips + 1, new_ips = c.new_ips + EXCLUDED.new_ips;
        IF before_day IS NOT NULL THEN
            INSERT INTO media_view_returns AS r (media_id, prev_day, day, shard, ips)
                VALUES (v.media_id, before_day, v.day, my_shard, 1)
                ON CONFLICT (media_id, prev_day, day, shard) DO UPDATE SET ips = r.ips + 1;
        END IF;
        IF after_day IS NOT NULL THEN
            -- v.day now comes between the two: after_day's previous day was before_day, now v.day.
            IF before_day IS NULL THEN
                INSERT INTO media_view_day_counts AS c (media_id, day, shard, new_ips)
                    VALUES (v.media_id, after_day, my_shard, -1)
                    ON CONFLICT (media_id, day, shard) DO UPDATE SET new_ips = c.new_ips - 1;
            ELSE
                INSERT INTO media_view_returns AS r (media_id, prev_day, day, shard, ips)
                    VALUES (v.media_id, before_day, after_day, my_shard, -1)
                    ON CONFLICT (media_id, prev_day, day, shard) DO UPDATE SET ips = r.ips - 1;
            END IF;
            INSERT INTO media_view_returns AS r (media_id, prev_day, day, shard, ips)
                VALUES (v.media_id, v.day, after_day, my_shard, 1)
                ON CONFLICT (media_id, prev_day, day, shard) DO UPDATE SET ips = r.ips + 1;
        END IF;
    END LOOP;
    IF n_rows <= 64 THEN
        RETURN NULL;
    END IF;

    -- The set path.
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'views are counted under READ COMMITTED or SERIALIZABLE, not REPEATABLE READ';
    END IF;
    -- Waits for the writers in flight and keeps new ones out until commit; the queries below then
    -- see every committed day of every ip.
    LOCK TABLE media_view_ip_days IN SHARE ROW EXCLUSIVE MODE;
    WITH fresh AS MATERIALIZED ( -- the statement's (media, ip, day) not recorded before
        SELECT t.* FROM (SELECT DISTINCT media_id, ip, (viewed_at AT TIME ZONE 'UTC')::date AS day
                         FROM new_rows) t
        WHERE NOT EXISTS (SELECT 1 FROM media_view_ip_days i
                          WHERE i.media_id = t.media_id AND i.ip = t.ip AND i.day = t.day)
    ), seq AS MATERIALIZED ( -- every day of those ips, fresh or not, with its prev after and before
        SELECT media_id, day, fresh, lag(day) OVER w AS prev_after,
               max(day) FILTER (WHERE NOT fresh) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                   AS prev_before
        FROM (SELECT media_id, ip, day, true AS fresh FROM fresh
              UNION ALL
              SELECT i.media_id, i.ip, i.day, false FROM media_view_ip_days i
              WHERE (i.media_id, i.ip) IN (SELECT media_id, ip FROM fresh)) u
        WINDOW w AS (PARTITION BY media_id, ip ORDER BY day)
    ), chg AS ( -- +1 for each (prev, day) that now exists, -1 for each that no longer does
        SELECT media_id, day, prev_after AS prev, 1 AS delta FROM seq
            WHERE fresh OR prev_after IS DISTINCT FROM prev_before
        UNION ALL
        SELECT media_id, day, prev_before, -1 FROM seq
            WHERE NOT fresh AND prev_after IS DISTINCT FROM prev_before
    ), days AS (
        SELECT media_id, day, sum(views) AS views, sum(ips) AS ips, sum(new_ips) AS new_ips
        FROM (SELECT media_id, (viewed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS views,
                     0 AS ips, 0 AS new_ips
              FROM new_rows GROUP BY 1, 2
              UNION ALL
              SELECT media_id, day, 0, count(*), 0 FROM fresh GROUP BY 1, 2
              UNION ALL
              SELECT media_id, day, 0, 0, sum(delta) FROM chg WHERE prev IS NULL GROUP BY 1, 2) x
        GROUP BY media_id, day
    ), ins_days AS (
        INSERT INTO media_view_ip_days (media_id, ip, day) SELECT media_id, ip, day FROM fresh
    ), ins_counts AS (
        INSERT INTO media_view_day_counts AS c (media_id, day, shard, views, ips, new_ips)
            SELECT media_id, day, my_shard, views, ips, new_ips FROM days
            ON CONFLICT (media_id, day, shard) DO UPDATE
                SET views = c.views + EXCLUDED.views, ips = c.ips + EXCLUDED.ips,
                    new_ips = c.new_ips + EXCLUDED.new_ips
    )
    INSERT INTO media_view_returns AS r (media_id, prev_day, day, shard, ips)
        SELECT media_id, prev, day, my_shard, sum(delta) FROM chg WHERE prev IS NOT NULL
        GROUP BY media_id, prev, day HAVING sum(delta) <> 0
        ON CONFLICT (media_id, prev_day, day, shard) DO UPDATE SET ips = r.ips + EXCLUDED.ips;
    RETURN NULL;
END
$$;

CREATE TRIGGER views_count AFTER INSERT ON views REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION views_count();

-- ---- events ------------------------------------------------------------------------------------

CREATE FUNCTION events_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_event_day_counts AS c (project_id, day, shard, play, click, impression)
        SELECT project_id, (created_at AT TIME ZONE 'UTC')::date, pg_backend_pid() % 16,
               count(*) FILTER (WHERE event_type = 'play'),
               count(*) FILTER (WHERE event_type = 'click'),
               count(*) FILTER (WHERE event_type = 'impression')
        FROM new_rows GROUP BY 1, 2
        ON CONFLICT (project_id, day, shard) DO UPDATE
            SET play = c.play + EXCLUDED.play, click = c.click + EXCLUDED.click,
                impression = c.impression + EXCLUDED.impression;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_count AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION events_count();
