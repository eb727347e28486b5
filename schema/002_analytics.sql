-- 002_analytics.sql: aggregates kept current on write, so analytics reads never scan views/events.
--
-- A statement-level AFTER INSERT trigger with a transition table updates them in the same
-- transaction as the insert: a reader never sees a view without its counts, and a bulk load of a
-- million rows aggregates once per statement instead of once per row.

CREATE TABLE media_view_totals (
    media_id   bigint PRIMARY KEY REFERENCES media (id) ON DELETE CASCADE,
    views      bigint NOT NULL,
    unique_ips bigint NOT NULL
);

CREATE TABLE media_view_days (
    media_id bigint NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    day      date NOT NULL,
    views    bigint NOT NULL,
    PRIMARY KEY (media_id, day)
);

-- Lifetime uniqueness: one row per (media, ip).
CREATE TABLE media_view_ips (
    media_id bigint NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    ip       inet NOT NULL,
    PRIMARY KEY (media_id, ip)
);

-- Uniqueness within a ?from=&to= range: one row per (media, day, ip), however many views.
CREATE TABLE media_view_day_ips (
    media_id bigint NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    day      date NOT NULL,
    ip       inet NOT NULL,
    PRIMARY KEY (media_id, day, ip)
);

CREATE FUNCTION views_aggregate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO media_view_days (media_id, day, views)
        SELECT media_id, (viewed_at AT TIME ZONE 'UTC')::date, count(*) FROM new_rows GROUP BY 1, 2
        ON CONFLICT (media_id, day) DO UPDATE SET views = media_view_days.views + EXCLUDED.views;
    INSERT INTO media_view_day_ips (media_id, day, ip)
        SELECT DISTINCT media_id, (viewed_at AT TIME ZONE 'UTC')::date, ip FROM new_rows
        ON CONFLICT DO NOTHING;
    WITH fresh AS (
        INSERT INTO media_view_ips (media_id, ip)
            SELECT DISTINCT media_id, ip FROM new_rows
            ON CONFLICT DO NOTHING
            RETURNING media_id
    )
    INSERT INTO media_view_totals (media_id, views, unique_ips)
        SELECT n.media_id, n.c, coalesce(f.c, 0)
        FROM (SELECT media_id, count(*) AS c FROM new_rows GROUP BY 1) n
        LEFT JOIN (SELECT media_id, count(*) AS c FROM fresh GROUP BY 1) f USING (media_id)
        ON CONFLICT (media_id) DO UPDATE
            SET views = media_view_totals.views + EXCLUDED.views,
                unique_ips = media_view_totals.unique_ips + EXCLUDED.unique_ips;
    RETURN NULL;
END
$$;

CREATE TRIGGER views_aggregate AFTER INSERT ON views
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION views_aggregate();

CREATE TABLE project_event_days (
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    day        date NOT NULL,
    play       bigint NOT NULL DEFAULT 0,
    click      bigint NOT NULL DEFAULT 0,
    impression bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, day)
);

CREATE FUNCTION events_aggregate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_event_days (project_id, day, play, click, impression)
        SELECT project_id, (created_at AT TIME ZONE 'UTC')::date,
               count(*) FILTER (WHERE event_type = 'play'),
               count(*) FILTER (WHERE event_type = 'click'),
               count(*) FILTER (WHERE event_type = 'impression')
        FROM new_rows GROUP BY 1, 2
        ON CONFLICT (project_id, day) DO UPDATE
            SET play = project_event_days.play + EXCLUDED.play,
                click = project_event_days.click + EXCLUDED.click,
                impression = project_event_days.impression + EXCLUDED.impression;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_aggregate AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_aggregate();
