-- API tokens become signed (ots_runtime/auth.py): the token itself is never stored, only its
-- claims (id, role, agency, expiry) so that `ots tokens list` shows them and `revoke` names them.
-- The opaque tokens issued before cannot be verified by the other services, nor turned into
-- signed ones (only their keyed hash was kept): they are kept for the record as `legacy-…`,
-- revoked by this migration, and `ots tokens list` says to issue new ones.
ALTER TABLE {schema}.api_tokens ADD COLUMN token_id text;
ALTER TABLE {schema}.api_tokens ADD COLUMN expires_at timestamptz;
UPDATE {schema}.api_tokens
SET token_id = 'legacy-' || left(token_hash, 16),
    expires_at = least(created_at + interval '90 days', now()),
    revoked_at = coalesce(revoked_at, now());
ALTER TABLE {schema}.api_tokens DROP CONSTRAINT api_tokens_pkey;
ALTER TABLE {schema}.api_tokens ALTER COLUMN token_hash DROP NOT NULL;
ALTER TABLE {schema}.api_tokens ALTER COLUMN token_id SET NOT NULL;
ALTER TABLE {schema}.api_tokens ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE {schema}.api_tokens ADD PRIMARY KEY (token_id);
ALTER TABLE {schema}.api_tokens ADD CONSTRAINT api_tokens_expire_after_creation
    CHECK (expires_at > created_at OR token_id LIKE 'legacy-%');
