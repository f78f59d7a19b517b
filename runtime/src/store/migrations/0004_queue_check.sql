-- Cosmos store, schema version 4: the same queue table, with its state CHECK written
-- as a range. SQLite evaluates `state IN (0, 1, 2, 3)` (more than two values) by
-- building a temporary index of the list for every row it inserts or updates, which
-- cost each enqueue and each lease a few microseconds; `state BETWEEN 0 AND 3` is two
-- comparisons and accepts the same values (state is a STRICT INTEGER column). SQLite
-- cannot change a CHECK constraint in place: the table is rebuilt as in version 2
-- (ids, and the AUTOINCREMENT counter, are kept).

-- The queue. state: 0 = ready, 1 = leased, 2 = dead, 3 = scheduled (see version 2).
-- Acked messages are deleted. AUTOINCREMENT: ids are never reused, so a stale
-- (id, owner) can never match a later message.
CREATE TABLE messages_v4 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    queue           TEXT    NOT NULL,
    state           INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),
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
    -- idempotency_key while the message is live (not dead): what is unique. A separate
    -- column so that leasing (a change of state) does not rewrite the unique index.
    live_key        TEXT,
    max_attempts    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    owner           TEXT,
    lease_until     INTEGER,
    enqueued_at     INTEGER NOT NULL,
    dead_reason     TEXT
) STRICT;

INSERT INTO messages_v4 (id, queue, state, priority, deadline, deadline_ord, visible_at,
    exclusivity, metadata, payload, idempotency_key, live_key, max_attempts, attempts, owner,
    lease_until, enqueued_at, dead_reason)
SELECT id, queue, state, priority, deadline, deadline_ord, visible_at, exclusivity, metadata,
    payload, idempotency_key, live_key, max_attempts, attempts, owner, lease_until,
    enqueued_at, dead_reason
FROM messages;

-- Keep the AUTOINCREMENT counter: ids of deleted (acked) messages are never reused.
DELETE FROM sqlite_sequence WHERE name = 'messages_v4';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'messages_v4', seq FROM sqlite_sequence WHERE name = 'messages';

DROP TABLE messages;
ALTER TABLE messages_v4 RENAME TO messages;

-- The indexes of version 2, unchanged.
-- lease: ready messages of a queue in delivery order (visible_at is carried so that
-- a message not yet visible to this caller's clock is skipped on the index entry).
CREATE INDEX messages_ready ON messages (queue, priority DESC, deadline_ord, id, visible_at)
    WHERE state = 0;
-- Timers: promotion to ready, and next_visible_at.
CREATE INDEX messages_scheduled ON messages (queue, visible_at) WHERE state = 3;
-- Expired leases.
CREATE INDEX messages_leased ON messages (queue, lease_until) WHERE state = 1;
-- Live leases per exclusivity value.
CREATE INDEX messages_leased_exclusive ON messages (queue, exclusivity)
    WHERE state = 1 AND exclusivity IS NOT NULL;
CREATE INDEX messages_dead ON messages (queue, id) WHERE state = 2;
-- Idempotency keys are unique per queue among live messages.
CREATE UNIQUE INDEX messages_idempotency ON messages (queue, live_key)
    WHERE live_key IS NOT NULL;
