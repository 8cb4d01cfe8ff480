-- Idempotency keys are kept for OTS_INBOX_RETENTION_HOURS, then pruned by age in bounded
-- batches (ots_runtime/pruning.py); created_at has been there since 001, this finds the old.
CREATE INDEX IF NOT EXISTS idempotency_keys_by_created_at ON {schema}.idempotency_keys (created_at);
