-- The staged events to store: new ids, and staged versions that beat their stored version
-- (exact before inferred, then earliest observed, then earliest occurred), with the stored
-- version's time. An id is a hash of its Workload's cluster and uid (and the transition), so a
-- stored version is one of its Workload's events, all at or after $first_at: the scan reads
-- only the log's row groups that reach $first_at (zone maps), never the whole history, and no
-- index over every id is needed.
-- Parameters: $first_at TIMESTAMP: the earliest first_at of the staged events' Workloads
-- (staged_workload_first_events.sql). Leaves the temporary table changed_workload_events.
CREATE OR REPLACE TEMP TABLE changed_workload_events AS
SELECT s.*, e.occurred_at AS stored_occurred_at
FROM staged_workload_events AS s
LEFT JOIN (
    SELECT event_id, cluster, uid, inferred, observed_at, occurred_at
    FROM workload_events
    WHERE occurred_at >= $first_at::TIMESTAMP
) AS e ON e.event_id = s.event_id AND e.cluster = s.cluster AND e.uid = s.uid
WHERE e.event_id IS NULL
    OR (s.inferred, s.observed_at, s.occurred_at) < (e.inferred, e.observed_at, e.occurred_at);
