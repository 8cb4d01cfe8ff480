-- One recording per person (issue 15): recording someone who already has a KTP-el recording
-- creates a Duplicate_Record at the national centre and blocks their card (domain.md).
-- Every ots.recording.completed intake sees is kept here, one row per person and visit
-- (a re-recording an operator asked for adds a row). NIKs are kept as open_residents keeps them.
CREATE TABLE {schema}.recorded_residents (
    nik text NOT NULL,
    visit_id text NOT NULL,
    recorded_at timestamptz NOT NULL,
    event_id text NOT NULL,
    PRIMARY KEY (nik, visit_id)
);
CREATE INDEX recorded_residents_by_visit ON {schema}.recorded_residents (visit_id);

-- A completed visit keeps its residents open until intake has seen as many recordings of it as
-- ots.visit.completed counted: when the completion overtakes a recording (two relays, a
-- redelivery), the person is never neither open nor recorded, so no request slips between.
ALTER TABLE {schema}.visits ADD COLUMN recordings_awaited integer;

-- A request for KTP-el recording (`recording` true) is refused for a person already recorded,
-- unless an operator overrode it for that person (`override_niks`); other services pass.
-- The recorded check reads its own snapshot after the open check: a person is released from
-- open_residents only in or after the transaction that recorded them, so a request that does not
-- see them open sees them recorded.
CREATE OR REPLACE FUNCTION {schema}.known_outcome(item jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    known record;
    clash text;
    recorded record;
BEGIN
    -- The same item written twice (a retry after a lost reply) is the same acceptance.
    IF EXISTS (SELECT 1 FROM {schema}.visits WHERE visit_id = item ->> 'visit_id') THEN
        RETURN jsonb_build_object('outcome', 'accepted', 'status_code', 201,
                                  'response', item -> 'response');
    END IF;
    SELECT visit_id INTO clash FROM {schema}.open_residents
    WHERE nik IN (SELECT jsonb_array_elements_text(item -> 'niks')) LIMIT 1;
    IF item ->> 'idempotency_key' IS NOT NULL THEN
        SELECT body_hash, status_code, response INTO known FROM {schema}.idempotency_keys
        WHERE scope = item ->> 'scope' AND key = item ->> 'idempotency_key';
        IF FOUND THEN
            IF known.body_hash = item ->> 'body_hash' THEN
                RETURN jsonb_build_object('outcome', 'replay', 'status_code', known.status_code,
                                          'response', known.response);
            END IF;
            RETURN jsonb_build_object('outcome', 'key_reused');
        END IF;
    END IF;
    IF clash IS NOT NULL THEN
        RETURN jsonb_build_object('outcome', 'resident_open', 'visit_id', clash);
    END IF;
    IF COALESCE((item ->> 'recording')::boolean, false) THEN
        SELECT nik, visit_id, recorded_at INTO recorded FROM {schema}.recorded_residents
        WHERE nik IN (SELECT jsonb_array_elements_text(item -> 'niks'))
          AND nik NOT IN (SELECT jsonb_array_elements_text(
                              COALESCE(item -> 'override_niks', '[]'::jsonb)))
        ORDER BY recorded_at DESC LIMIT 1;
        IF FOUND THEN
            RETURN jsonb_build_object('outcome', 'already_recorded', 'nik', recorded.nik,
                                      'visit_id', recorded.visit_id,
                                      'recorded_at', recorded.recorded_at);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

-- As in 002, plus the operator's overrides in the new visit's history.
CREATE OR REPLACE FUNCTION {schema}.accept_visit_item(item jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    known jsonb := {schema}.known_outcome(item);
    visit text := item ->> 'visit_id';
BEGIN
    IF known IS NOT NULL THEN
        RETURN known;
    END IF;
    INSERT INTO {schema}.visits (visit_id, owner_agency, request, kecamatan_code, venue_type, priority)
    VALUES (visit, item ->> 'owner', (item ->> 'event_body')::jsonb -> 'data', item ->> 'kecamatan_code',
            item ->> 'venue_type', item ->> 'priority');
    INSERT INTO {schema}.open_residents (nik, visit_id)
    SELECT nik, visit FROM jsonb_array_elements_text(item -> 'niks') AS nik;
    INSERT INTO {schema}.outbox (event_id, subject, body)
    VALUES (item ->> 'event_id', item ->> 'subject', convert_to(item ->> 'event_body', 'UTF8'));
    INSERT INTO {schema}.visit_history (event_id, visit_id, type, time)
    VALUES (item ->> 'event_id', visit, item ->> 'event_type', (item ->> 'event_time')::timestamptz);
    IF jsonb_array_length(COALESCE(item -> 'overrides', '[]'::jsonb)) > 0 THEN
        INSERT INTO {schema}.visit_history (event_id, visit_id, type, time, detail)
        VALUES ((item ->> 'event_id') || ':override', visit, 'recording_override',
                (item ->> 'event_time')::timestamptz,
                jsonb_build_object(
                    'by', item ->> 'scope',
                    'overrides', (
                        SELECT jsonb_agg((o || COALESCE((
                            SELECT jsonb_build_object(
                                'previous_visit_id', r.visit_id,
                                'previously_recorded_at', r.recorded_at)
                            FROM {schema}.recorded_residents r WHERE r.nik = o ->> 'nik'
                            ORDER BY r.recorded_at DESC LIMIT 1), '{}'::jsonb)) - 'nik')
                        FROM jsonb_array_elements(item -> 'overrides') AS o)));
    END IF;
    IF item ->> 'idempotency_key' IS NOT NULL THEN
        INSERT INTO {schema}.idempotency_keys (scope, key, body_hash, status_code, response)
        VALUES (item ->> 'scope', item ->> 'idempotency_key', item ->> 'body_hash', 201,
                item -> 'response');
    END IF;
    RETURN jsonb_build_object('outcome', 'accepted', 'status_code', 201, 'response', item -> 'response');
END;
$$;
