-- Accept a batch of visit requests in one round trip (group commit from the request path).
-- Each item either lands whole (visit, open residents, outbox event, history, idempotency key)
-- or gets an outcome saying why not; one item's conflict never undoes its neighbours.
CREATE OR REPLACE FUNCTION {schema}.accept_visits(items jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
    results jsonb := '[]'::jsonb;
    accepted integer := 0;
BEGIN
    FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
        BEGIN
            results := results || {schema}.accept_visit_item(item);
        EXCEPTION WHEN unique_violation THEN
            -- A concurrent writer took the key or a resident first: answer as if we came second.
            results := results || COALESCE(
                {schema}.known_outcome(item), jsonb_build_object('outcome', 'retry'));
        END;
        IF results -> -1 ->> 'outcome' = 'accepted' THEN
            accepted := accepted + 1;
        END IF;
    END LOOP;
    IF accepted > 0 THEN
        PERFORM pg_notify('{schema}_outbox', '');
    END IF;
    RETURN results;
END;
$$;

CREATE OR REPLACE FUNCTION {schema}.known_outcome(item jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    known record;
    clash text;
BEGIN
    -- The same item written twice (a retry after a lost reply) is the same acceptance.
    IF EXISTS (SELECT 1 FROM {schema}.visits WHERE visit_id = item ->> 'visit_id') THEN
        RETURN jsonb_build_object('outcome', 'accepted', 'status_code', 201,
                                  'response', item -> 'response');
    END IF;
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
    SELECT visit_id INTO clash FROM {schema}.open_residents
    WHERE nik IN (SELECT jsonb_array_elements_text(item -> 'niks')) LIMIT 1;
    IF FOUND THEN
        RETURN jsonb_build_object('outcome', 'resident_open', 'visit_id', clash);
    END IF;
    RETURN NULL;
END;
$$;

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
    IF item ->> 'idempotency_key' IS NOT NULL THEN
        INSERT INTO {schema}.idempotency_keys (scope, key, body_hash, status_code, response)
        VALUES (item ->> 'scope', item ->> 'idempotency_key', item ->> 'body_hash', 201,
                item -> 'response');
    END IF;
    RETURN jsonb_build_object('outcome', 'accepted', 'status_code', 201, 'response', item -> 'response');
END;
$$;
