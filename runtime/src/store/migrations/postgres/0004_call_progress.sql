-- Cosmos store on PostgreSQL, schema version 4: the latest progress report of each
-- running call (see the SQLite migration 0006_call_progress.sql).
CREATE TABLE call_progress (
    key      TEXT   NOT NULL PRIMARY KEY,
    instance TEXT   NOT NULL,
    report   TEXT   NOT NULL,
    at       BIGINT NOT NULL
);

CREATE INDEX call_progress_by_instance ON call_progress (instance);
