-- Cosmos store on PostgreSQL, schema version 6: schedules (see the SQLite migration
-- 0008_schedules.sql).
CREATE TABLE schedules (
    name          TEXT    NOT NULL PRIMARY KEY,
    workflow      TEXT    NOT NULL,
    trigger_spec  TEXT    NOT NULL,
    overlap       TEXT    NOT NULL,
    paused        BOOLEAN NOT NULL DEFAULT FALSE,
    since         BIGINT  NOT NULL,
    last_tick     BIGINT,
    last_instance TEXT,
    updated_at    BIGINT  NOT NULL
);
