-- Cosmos store on PostgreSQL, schema version 3: an instance's idempotency key is
-- unique per workflow, not across workflows (see the SQLite migration
-- 0005_idempotency_per_workflow.sql).
ALTER TABLE instances DROP CONSTRAINT instances_idempotency_key_key;
CREATE UNIQUE INDEX instances_idempotency ON instances (workflow, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
