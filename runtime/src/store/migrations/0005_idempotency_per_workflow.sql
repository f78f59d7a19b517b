-- Cosmos store, schema version 5: an instance's idempotency key is unique per
-- workflow, not across workflows (the same key starts one instance of each workflow,
-- and a request never gets back an instance of another workflow). SQLite cannot drop
-- the column's UNIQUE constraint in place: the table is rebuilt, rows and all. The
-- migration runs with foreign keys off (history refers to instances: dropping the old
-- table must not delete the history), and the runner checks them before committing.

CREATE TABLE instances_v5 (
    id              TEXT    NOT NULL PRIMARY KEY,
    workflow        TEXT    NOT NULL,
    bundle          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    input           TEXT    NOT NULL,
    facts           TEXT    NOT NULL,
    output          TEXT,
    failure         TEXT,
    state           TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    idempotency_key TEXT
) STRICT;

INSERT INTO instances_v5 (id, workflow, bundle, status, input, facts, output, failure,
    state, version, created_at, updated_at, idempotency_key)
SELECT id, workflow, bundle, status, input, facts, output, failure, state, version,
    created_at, updated_at, idempotency_key
FROM instances;

DROP TABLE instances;
ALTER TABLE instances_v5 RENAME TO instances;

CREATE INDEX instances_by_status ON instances (status, id);
CREATE INDEX instances_by_workflow ON instances (workflow, id);
-- Idempotency keys are unique per workflow.
CREATE UNIQUE INDEX instances_idempotency ON instances (workflow, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
