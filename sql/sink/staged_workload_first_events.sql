-- The Workloads of the staged events, each with the earliest instant any of its events,
-- stretches or waits can start (workload_first_events, moved back by the batch). Upserted
-- through the (cluster, uid) key's index: no scan, whatever the log holds. A staged version
-- that loses to a stored one may move first_at back too: it stays a lower bound.
-- Parameters: none. Returns (cluster, uid, first_at), one row per Workload of the batch.
INSERT INTO workload_first_events
SELECT cluster, uid, least(min(occurred_at), min(created_at)) AS first_at
FROM staged_workload_events
GROUP BY cluster, uid
ON CONFLICT (cluster, uid) DO UPDATE
    SET first_at = least(workload_first_events.first_at, excluded.first_at)
RETURNING cluster, uid, first_at;
