-- The devices' worklists and feedback (the OTS_WORKLIST and OTS_FEEDBACK buckets), projected
-- from OTS_EVENTS and from recording's own verdicts. A view's `version` grows with every change
-- that may alter it; the publisher writes the bucket and catches `published` up.
CREATE TABLE {schema}.worklist_visits (
    visit_id text PRIMARY KEY,
    details jsonb,                -- venue, services, residents: ots.visit.requested
    team_id text,                 -- the team of the newest plan: ots.visit.scheduled
    plan_revision integer,
    done boolean NOT NULL DEFAULT false  -- completed, cancelled or unassigned
);
CREATE TABLE {schema}.worklist_routes (
    team_id text NOT NULL,
    route_date date NOT NULL,
    plan_revision integer NOT NULL,
    stops jsonb NOT NULL,
    PRIMARY KEY (team_id, route_date)
);
CREATE TABLE {schema}.worklist_devices (
    device_id text PRIMARY KEY,
    team_id text NOT NULL,
    revoked boolean NOT NULL
);
CREATE INDEX worklist_devices_by_team ON {schema}.worklist_devices (team_id);
CREATE TABLE {schema}.feedback (
    device_id text NOT NULL,
    event_id text NOT NULL,
    kind text NOT NULL,           -- 'recapture' or 'rejection'
    at timestamptz NOT NULL,
    body text NOT NULL,           -- the event's data as JSON (text: jsonb refuses \u0000)
    PRIMARY KEY (device_id, event_id)
);
CREATE INDEX feedback_by_device_and_time ON {schema}.feedback (device_id, at);
CREATE TABLE {schema}.device_views (
    device_id text NOT NULL,
    bucket text NOT NULL,
    version bigint NOT NULL DEFAULT 1,
    published bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, bucket)
);
CREATE INDEX device_views_unpublished ON {schema}.device_views (bucket, device_id)
    WHERE version > published;
