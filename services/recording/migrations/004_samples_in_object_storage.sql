-- Sealed samples move to object storage (OTS_SAMPLES_URL): a capture names its object by
-- `sample_key` (`<visit_id>/<sha256 of the sealed bytes>`, which hold the nonce and the
-- ciphertext) and keeps `key_id` (the biometric key that sealed it), `sha256` (of the
-- plaintext, as before) and `sample_bytes` (the object's size). NULL once a better capture
-- of the same slot replaced it. Rows written before this migration keep their `nonce` and
-- `sample` in PostgreSQL; new rows leave both NULL.
ALTER TABLE {schema}.captures ADD COLUMN sample_key text;
ALTER TABLE {schema}.captures ADD COLUMN sample_bytes integer;
