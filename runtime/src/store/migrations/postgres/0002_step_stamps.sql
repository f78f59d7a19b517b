-- Cosmos store on PostgreSQL, schema version 2: each history row says which step
-- wrote it (see the SQLite migration 0003_step_stamps.sql): the node, when it began
-- the step and when it finished it, in microseconds since the epoch on that node's
-- clock. Rows written before this version have NULLs.
ALTER TABLE history ADD COLUMN node TEXT;
ALTER TABLE history ADD COLUMN started_us BIGINT;
ALTER TABLE history ADD COLUMN finished_us BIGINT;
