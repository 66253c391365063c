-- Issue 15: an Idempotency-Key flagged `permanent` is never forgotten (neither the TTL check on
-- lookup nor the periodic sweep removes it). recordUsage sets it: a counter increment cannot be
-- recognised as a replay from its data, so an offline replica's late replay must find its key.
ALTER TABLE idempotency_keys ADD COLUMN permanent BOOLEAN NOT NULL DEFAULT false;
