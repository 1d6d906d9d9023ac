-- The Workloads whose stored events the batch changed (their aggregates are refreshed).
-- Parameters: none. Returns (cluster, uid).
SELECT DISTINCT cluster, uid FROM changed_workload_events;
