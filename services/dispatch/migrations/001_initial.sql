-- Dispatch's own view of teams and visits, fed by intake's and recording's events.
CREATE TABLE {schema}.teams (
    team_id text PRIMARY KEY,
    body jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- state: open, cancelled or completed; a cancellation may arrive before its request.
CREATE TABLE {schema}.visits (
    visit_id text PRIMARY KEY,
    body jsonb,
    state text NOT NULL DEFAULT 'open',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- What was published: a restart compares against it and re-publishes nothing announced.
CREATE TABLE {schema}.announced (
    visit_id text PRIMARY KEY,
    team_id text NOT NULL,
    day date NOT NULL,
    eta timestamptz NOT NULL,
    service_minutes integer NOT NULL,
    plan_revision bigint NOT NULL
);

CREATE TABLE {schema}.routes (
    team_id text NOT NULL,
    day date NOT NULL,
    plan_revision bigint NOT NULL,
    body jsonb NOT NULL,
    PRIMARY KEY (team_id, day)
);

CREATE TABLE {schema}.unassigned (
    visit_id text PRIMARY KEY,
    reason text NOT NULL,
    plan_revision bigint NOT NULL
);

-- One row: every change bumps dirty_version; a plan records the version it covered.
CREATE TABLE {schema}.planning (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    dirty_version bigint NOT NULL DEFAULT 0,
    planned_version bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO {schema}.planning DEFAULT VALUES;

CREATE SEQUENCE {schema}.plan_revision;
