-- Rebuilds workload_intervals (and its open stretches) and workload_waits whole from their
-- views, and the per-Workload lower bounds. Rows go in time order, as the sink appends them later, so the zone maps of
-- start_at and started_at let each batch's refresh skip the history (refresh_some_workloads).
-- Parameters: none.
DELETE FROM workload_intervals;
INSERT INTO workload_intervals SELECT * FROM v_workload_intervals ORDER BY start_at;
DELETE FROM open_workload_intervals;
INSERT INTO open_workload_intervals SELECT * FROM workload_intervals WHERE end_at IS NULL;
DELETE FROM workload_waits;
INSERT INTO workload_waits SELECT * FROM v_workload_waits ORDER BY started_at;
DELETE FROM workload_first_events;
INSERT INTO workload_first_events
SELECT cluster, uid, least(min(occurred_at), min(created_at))
FROM workload_events
GROUP BY cluster, uid;
