-- Each statement of a plpgsql function reads its own snapshot. Checking the idempotency key
-- before the residents let a concurrent retry miss the key of a request that committed in
-- between, then see that request's residents and be refused 409 instead of replayed. The
-- residents are now looked up first: a request whose residents are visible has its key
-- visible to every later statement, as both committed together.
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
    RETURN NULL;
END;
$$;
