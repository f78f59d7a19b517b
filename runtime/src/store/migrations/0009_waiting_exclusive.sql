-- Cosmos store, schema version 9: an index of the messages waiting per exclusivity value.
-- The messages of an exclusivity value that wait to be leased (ready, or timers):
-- a node that completes a call takes the step it triggers in the same transaction
-- only when no event of the instance is waiting (or leased), which it asks here
-- rather than by walking every ready message of the queue.
CREATE INDEX messages_waiting_exclusive ON messages (queue, exclusivity, visible_at)
    WHERE state IN (0, 3) AND exclusivity IS NOT NULL;
