-- What the batch changed: how many events it stored, the Workloads they touch, and the earliest
-- instant whose aggregates they change (an event's time, or the stored version's it replaced).
-- Parameters: none.
SELECT
    (SELECT count(*) FROM changed_workload_events)
    + (SELECT count(*) FROM changed_cluster_queue_events) AS stored,
    (SELECT list(DISTINCT uid) FROM changed_workload_events) AS uids,
    least(
        (SELECT min(least(occurred_at, coalesce(stored_occurred_at, occurred_at)))
         FROM changed_workload_events),
        (SELECT min(least(occurred_at, coalesce(stored_occurred_at, occurred_at)))
         FROM changed_cluster_queue_events)
    ) AS since;
