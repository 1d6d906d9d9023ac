-- The lake's cluster_queue_quotas: one file (no cluster column; joined by event_id).
-- Parameters: none.
SELECT * FROM cluster_queue_quotas;
