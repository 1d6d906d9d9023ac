-- The Workloads the batch's changed events touch, each with the earliest instant any of its
-- events, stretches or waits can start (workload_first_events, moved back by this batch).
-- An upsert through the primary key's index: no scan, whatever the log holds.
-- Parameters: none. Returns (cluster, uid, first_at), one row per touched Workload.
INSERT INTO workload_first_events
SELECT
    cluster,
    uid,
    least(
        min(occurred_at), min(created_at), min(coalesce(stored_occurred_at, occurred_at))
    ) AS first_at
FROM changed_workload_events
GROUP BY cluster, uid
ON CONFLICT (cluster, uid) DO UPDATE
    SET first_at = least(workload_first_events.first_at, excluded.first_at)
RETURNING cluster, uid, first_at;
