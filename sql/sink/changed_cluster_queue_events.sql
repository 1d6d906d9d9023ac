-- Staged ClusterQueue events to store: new ids, and ids whose stored version they beat
-- (earliest observed, then earliest occurred), with the stored version's time.
-- Parameters: none. Leaves the temporary table changed_cluster_queue_events.
CREATE OR REPLACE TEMP TABLE changed_cluster_queue_events AS
SELECT s.*, e.occurred_at AS stored_occurred_at
FROM staged_cluster_queue_events AS s
LEFT JOIN cluster_queue_events AS e ON e.event_id = s.event_id
WHERE e.event_id IS NULL OR (s.observed_at, s.occurred_at) < (e.observed_at, e.occurred_at);
