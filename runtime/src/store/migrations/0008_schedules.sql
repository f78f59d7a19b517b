-- Cosmos store, schema version 8: schedules (LANGUAGE.md 10.7). One row per schedule
-- of the deployed bundle, written by the node that deployed it: its definition (the
-- workflow, the trigger as JSON, the overlap policy) and its durable state. Ticks at
-- or before `since` (when the schedule was first seen or last resumed) never start an
-- instance; `last_tick` is the latest tick that was handled (started or skipped) and
-- `last_instance` the instance the latest started tick started.
CREATE TABLE schedules (
    name          TEXT    NOT NULL PRIMARY KEY,
    workflow      TEXT    NOT NULL,
    trigger_spec  TEXT    NOT NULL,
    overlap       TEXT    NOT NULL,
    paused        INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    since         INTEGER NOT NULL,
    last_tick     INTEGER,
    last_instance TEXT,
    updated_at    INTEGER NOT NULL
) STRICT;
