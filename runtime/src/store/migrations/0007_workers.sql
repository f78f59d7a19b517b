-- Cosmos store, schema version 7: the registry of workers. Each process that runs
-- functions (a `cosmosc worker`, or a node that runs them itself) keeps one row here
-- under its name: the pools it serves, when it started, when it was last seen (it
-- writes the row again every heartbeat), how often it beats, when it stopped (a
-- graceful stop), and its counters. Rows stay after their worker is gone: the registry
-- says who ran and who is alive (`last_seen` within a few heartbeats, not stopped).
CREATE TABLE workers (
    name         TEXT    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    pools        TEXT    NOT NULL,
    version      TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    stopped_at   INTEGER,
    leased       INTEGER NOT NULL,
    completed    INTEGER NOT NULL,
    failed       INTEGER NOT NULL
) STRICT;
