-- Cosmos store, schema version 1.
-- Times are milliseconds since the Unix epoch; JSON values are stored as text.

CREATE TABLE instances (
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
    idempotency_key TEXT    UNIQUE
) STRICT;

CREATE INDEX instances_by_status ON instances (status, id);
CREATE INDEX instances_by_workflow ON instances (workflow, id);

CREATE TABLE history (
    instance TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    text     TEXT    NOT NULL,
    data     TEXT    NOT NULL,
    PRIMARY KEY (instance, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE bundles (
    hash       TEXT    NOT NULL PRIMARY KEY,
    bytes      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- The queue. state: 0 = ready, 1 = leased, 2 = dead. Acked messages are deleted.
-- AUTOINCREMENT: ids are never reused, so a stale (id, owner) can never match a
-- later message.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    queue           TEXT    NOT NULL,
    state           INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
    priority        INTEGER NOT NULL,
    deadline        INTEGER,
    -- deadline, or the largest integer when there is none: sorts "no deadline" last
    -- with a plain index.
    deadline_ord    INTEGER NOT NULL,
    visible_at      INTEGER NOT NULL,
    exclusivity     TEXT,
    metadata        TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    idempotency_key TEXT,
    max_attempts    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    owner           TEXT,
    lease_until     INTEGER,
    enqueued_at     INTEGER NOT NULL,
    dead_reason     TEXT
) STRICT;

-- lease: visible ready messages of a queue in delivery order (visible_at is carried
-- so that delayed messages are skipped without reading the row).
CREATE INDEX messages_ready ON messages (queue, priority DESC, deadline_ord, id, visible_at)
    WHERE state = 0;
-- next_visible_at (timers).
CREATE INDEX messages_ready_visible ON messages (queue, visible_at) WHERE state = 0;
-- Expired leases, and live leases per exclusivity value.
CREATE INDEX messages_leased ON messages (queue, lease_until) WHERE state = 1;
CREATE INDEX messages_leased_exclusive ON messages (queue, exclusivity)
    WHERE state = 1 AND exclusivity IS NOT NULL;
CREATE INDEX messages_owner ON messages (owner) WHERE state = 1;
CREATE INDEX messages_dead ON messages (queue, id) WHERE state = 2;
-- Idempotency keys are unique per queue among live messages.
CREATE UNIQUE INDEX messages_idempotency ON messages (queue, idempotency_key)
    WHERE idempotency_key IS NOT NULL AND state IN (0, 1);
