-- Aggregates only: label values, counts, event times. No NIK, no name, no personal data.

-- Every Prometheus counter and histogram series: additive, so events commute.
-- Histograms keep one non-cumulative row per bucket (`<name>_bucket` with `le` last in
-- labels), plus `<name>_sum` and `<name>_count`.
CREATE TABLE {schema}.counters (
    metric text NOT NULL,
    labels text NOT NULL,  -- JSON array of label values, in the metric's label order
    value double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (metric, labels)
);

-- Services delivered by year (Asia/Jakarta), from ots.service.delivered.
CREATE TABLE {schema}.service_counts (
    year integer NOT NULL,
    service_type text NOT NULL,
    venue_type text NOT NULL,
    kecamatan_code text NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (year, service_type, venue_type, kecamatan_code)
);

-- Counts from before the system existed (`ots metrics import-history`); a re-import replaces.
CREATE TABLE {schema}.history_counts (
    year integer NOT NULL,
    service_type text NOT NULL,
    venue_type text NOT NULL,
    kecamatan_code text NOT NULL,
    count bigint NOT NULL CHECK (count >= 0),
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (year, service_type, venue_type, kecamatan_code)
);

-- What is known of each visit, whatever order its events arrived in.
CREATE TABLE {schema}.visits (
    visit_id text PRIMARY KEY,
    priority text,
    requested_at timestamptz,
    completed_at timestamptz,
    cancelled boolean NOT NULL DEFAULT false,
    decision_status text,
    decision_revision bigint,
    decision_at timestamptz,
    completion_observed boolean NOT NULL DEFAULT false,
    status text NOT NULL
);
CREATE INDEX visits_open_by_status ON {schema}.visits (status)
    WHERE status IN ('requested', 'scheduled', 'unassigned');

-- The latest plan of each team-day, and each team's shift, for utilisation.
CREATE TABLE {schema}.route_plans (
    team_id text NOT NULL,
    date date NOT NULL,
    plan_revision bigint NOT NULL,
    planned_minutes integer NOT NULL,
    PRIMARY KEY (team_id, date)
);

CREATE TABLE {schema}.team_shifts (
    team_id text PRIMARY KEY,
    shift_minutes integer NOT NULL,
    updated_at timestamptz NOT NULL
);
