-- Cosmos store on PostgreSQL, schema version 5: the registry of workers (see the
-- SQLite migration 0007_workers.sql).
CREATE TABLE workers (
    name         TEXT   NOT NULL PRIMARY KEY,
    kind         TEXT   NOT NULL,
    pools        TEXT   NOT NULL,
    version      TEXT   NOT NULL,
    started_at   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    stopped_at   BIGINT,
    leased       BIGINT NOT NULL,
    completed    BIGINT NOT NULL,
    failed       BIGINT NOT NULL
);
