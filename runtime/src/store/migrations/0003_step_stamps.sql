-- Cosmos store, schema version 3: each history row says which step wrote it — the
-- node that took the step, when that node began it (once it had read the instance) and
-- when it finished it (just before it sent the commit), in microseconds since the
-- epoch on that node's clock. Rows written before this version have NULLs. With
-- these, a history alone shows that the steps of an instance never overlapped: each
-- step finished before the next one began.
ALTER TABLE history ADD COLUMN node TEXT;
ALTER TABLE history ADD COLUMN started_us INTEGER;
ALTER TABLE history ADD COLUMN finished_us INTEGER;
