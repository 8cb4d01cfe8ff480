CREATE TABLE {schema}.visits (
    visit_id text PRIMARY KEY,
    owner_agency text NOT NULL,
    request jsonb NOT NULL,
    status text NOT NULL DEFAULT 'requested',
    plan_revision bigint NOT NULL DEFAULT -1,
    kecamatan_code text NOT NULL,
    venue_type text NOT NULL,
    priority text NOT NULL,
    team_id text,
    scheduled_date date,
    eta timestamptz,
    people_recorded integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX visits_listing ON {schema}.visits (created_at DESC, visit_id DESC);
CREATE INDEX visits_by_owner ON {schema}.visits (owner_agency, created_at DESC);

CREATE TABLE {schema}.visit_history (
    event_id text PRIMARY KEY,
    visit_id text NOT NULL REFERENCES {schema}.visits ON DELETE CASCADE,
    type text NOT NULL,
    time timestamptz NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX visit_history_by_visit ON {schema}.visit_history (visit_id, time);

-- One row per person while their request is open: the duplicate-recording guard.
CREATE TABLE {schema}.open_residents (
    nik text PRIMARY KEY,
    visit_id text NOT NULL REFERENCES {schema}.visits ON DELETE CASCADE
);
CREATE INDEX open_residents_by_visit ON {schema}.open_residents (visit_id);

CREATE TABLE {schema}.idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    body_hash text NOT NULL,
    status_code integer NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

CREATE TABLE {schema}.teams (
    team_id text PRIMARY KEY,
    body jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {schema}.devices (
    device_id text PRIMARY KEY,
    team_id text NOT NULL REFERENCES {schema}.teams,
    body jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {schema}.api_tokens (
    token_hash text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('operator', 'agency', 'viewer')),
    agency text NOT NULL,
    label text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
