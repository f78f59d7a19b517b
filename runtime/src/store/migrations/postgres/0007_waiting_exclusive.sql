-- Cosmos store on PostgreSQL, schema version 7: messages waiting per exclusivity value
-- (see the SQLite migration 0009_waiting_exclusive.sql).
CREATE INDEX messages_waiting_exclusive ON messages (queue, exclusivity, visible_at)
    WHERE state IN (0, 3) AND exclusivity IS NOT NULL;
