-- Cosmos store on PostgreSQL, schema version 1: the same tables and columns as the
-- SQLite store's schema 2 (../0001_init.sql and ../0002_queue_states.sql), in
-- PostgreSQL's dialect. Times are milliseconds since the Unix epoch; JSON values are
-- stored as text (the engine's state round-trips byte for byte), except message
-- metadata, which is JSONB so that lease filters (`metadata @> filter`) use it.

CREATE TABLE instances (
    id              TEXT   NOT NULL PRIMARY KEY,
    workflow        TEXT   NOT NULL,
    bundle          TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    input           TEXT   NOT NULL,
    facts           TEXT   NOT NULL,
    output          TEXT,
    failure         TEXT,
    state           TEXT   NOT NULL,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    idempotency_key TEXT   UNIQUE
);

CREATE INDEX instances_by_status ON instances (status, id);
CREATE INDEX instances_by_workflow ON instances (workflow, id);

CREATE TABLE history (
    instance TEXT   NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    seq      BIGINT NOT NULL,
    at       BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    text     TEXT   NOT NULL,
    data     TEXT   NOT NULL,
    PRIMARY KEY (instance, seq)
);

CREATE TABLE bundles (
    hash       TEXT   NOT NULL PRIMARY KEY,
    bytes      BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);

-- The queue. state: 0 = ready, 1 = leased, 2 = dead, 3 = scheduled (ready, but with a
-- visible_at after the time it was enqueued or released: a timer; a lease moves it to
-- ready once due). Acked messages are deleted. Ids come from a sequence and are never
-- reused, so a stale (id, owner) can never match a later message.
CREATE TABLE messages (
    id              BIGINT   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue           TEXT     NOT NULL,
    state           SMALLINT NOT NULL CHECK (state IN (0, 1, 2, 3)),
    priority        BIGINT   NOT NULL,
    deadline        BIGINT,
    -- deadline, or the largest bigint when there is none: sorts "no deadline" last
    -- with a plain index.
    deadline_ord    BIGINT   NOT NULL,
    visible_at      BIGINT   NOT NULL,
    exclusivity     TEXT,
    metadata        JSONB    NOT NULL,
    payload         TEXT     NOT NULL,
    idempotency_key TEXT,
    -- idempotency_key while the message is live (not dead): what is unique.
    live_key        TEXT,
    max_attempts    BIGINT,
    attempts        BIGINT   NOT NULL DEFAULT 0,
    owner           TEXT,
    lease_until     BIGINT,
    enqueued_at     BIGINT   NOT NULL,
    dead_reason     TEXT
);

-- lease: ready messages of a queue in delivery order.
CREATE INDEX messages_ready ON messages (queue, priority DESC, deadline_ord, id)
    INCLUDE (visible_at) WHERE state = 0;
-- Timers: promotion to ready, and next_visible_at.
CREATE INDEX messages_scheduled ON messages (queue, visible_at) WHERE state = 3;
-- Expired leases, and next_lease_expiry.
CREATE INDEX messages_leased ON messages (queue, lease_until) WHERE state = 1;
-- Exclusivity, enforced by the database: at most one leased message per (queue,
-- value), whichever node leases it. Leasing takes a transaction-scoped advisory lock
-- per value first, so concurrent leases skip a value rather than collide here.
CREATE UNIQUE INDEX messages_leased_exclusive ON messages (queue, exclusivity)
    WHERE state = 1 AND exclusivity IS NOT NULL;
-- A node's leases (graceful stop, metrics).
CREATE INDEX messages_owner ON messages (owner) WHERE state = 1;
CREATE INDEX messages_dead ON messages (queue, id) WHERE state = 2;
-- Idempotency keys are unique per queue among live messages.
CREATE UNIQUE INDEX messages_idempotency ON messages (queue, live_key)
    WHERE live_key IS NOT NULL;
