-- Cosmos store, schema version 6: the latest progress report of each running call
-- (LANGUAGE.md 10.4), keyed by the call's idempotency key, so that the API and
-- `cosmosc explain` show it whichever node runs the call. A row lives while its call
-- runs: the node running it deletes it when the call ends.
CREATE TABLE call_progress (
    key      TEXT    NOT NULL PRIMARY KEY,
    instance TEXT    NOT NULL,
    report   TEXT    NOT NULL,
    at       INTEGER NOT NULL
) STRICT;

CREATE INDEX call_progress_by_instance ON call_progress (instance);
