-- The clusters with recorded Workload events: first submission, last event, Workloads.
-- Parameters: none.
SELECT cluster, min(created_at), max(occurred_at), count(DISTINCT uid)
FROM workload_events
GROUP BY cluster
ORDER BY cluster;
