-- Enrolled devices, from ots.device.enrolled; the latest event time wins.
CREATE TABLE {schema}.devices (
    device_id text PRIMARY KEY,
    team_id text NOT NULL,
    kind text NOT NULL,
    public_key bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked boolean NOT NULL,
    enrolled_at timestamptz NOT NULL
);

-- Visits as recording needs them: from requested, scheduled, cancelled and the gateway's close.
CREATE TABLE {schema}.visits (
    visit_id text PRIMARY KEY,
    venue_type text,
    kecamatan_code text,
    expected_people integer NOT NULL DEFAULT 0,
    residents text[] NOT NULL DEFAULT '{}',
    team_id text,
    plan_revision bigint NOT NULL DEFAULT -1,
    cancelled boolean NOT NULL DEFAULT false,
    closed_at timestamptz,
    closed_by text,
    absent_niks text[] NOT NULL DEFAULT '{}',
    completed_at timestamptz
);
CREATE INDEX visits_closing ON {schema}.visits (closed_at) WHERE completed_at IS NULL;

-- Verified captures. `linked` is false while the chain waits for a predecessor. The sample is
-- AES-GCM ciphertext under `key_id`, NULL once a better capture of the same slot replaced it.
CREATE TABLE {schema}.captures (
    capture_id text PRIMARY KEY,
    visit_id text NOT NULL,
    nik text NOT NULL,
    sequence integer NOT NULL,
    modality text NOT NULL,
    position text NOT NULL DEFAULT '',
    quality integer NOT NULL,
    format text NOT NULL,
    device_id text NOT NULL,
    sha256 text NOT NULL,
    chain_hash text NOT NULL,
    captured_at timestamptz NOT NULL,
    linked boolean NOT NULL,
    key_id text,
    nonce bytea,
    sample bytea,
    UNIQUE (visit_id, nik, sequence)
);

CREATE TABLE {schema}.exceptions (
    visit_id text NOT NULL,
    nik text NOT NULL,
    modality text NOT NULL,
    position text NOT NULL DEFAULT '',
    exception_id text NOT NULL,
    kind text NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (visit_id, nik, modality, position)
);

-- A row once a person's recording is complete: recording.completed is published once.
CREATE TABLE {schema}.people (
    visit_id text NOT NULL,
    nik text NOT NULL,
    flagged boolean NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (visit_id, nik)
);

CREATE TABLE {schema}.services (
    service_id text PRIMARY KEY,
    visit_id text NOT NULL,
    service_type text NOT NULL,
    count integer NOT NULL
);
CREATE INDEX services_by_visit ON {schema}.services (visit_id);
