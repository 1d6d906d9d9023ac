-- What the batch changed: how many events it stored, the earliest instant whose aggregates they
-- change (an event's time, or the stored version's it replaced), and the latest event time
-- stored (with the previous watermark, the log's latest, without scanning the log).
-- Parameters: none.
SELECT
    (SELECT count(*) FROM changed_workload_events)
    + (SELECT count(*) FROM changed_cluster_queue_events) AS stored,
    least(
        (SELECT min(least(occurred_at, coalesce(stored_occurred_at, occurred_at)))
         FROM changed_workload_events),
        (SELECT min(least(occurred_at, coalesce(stored_occurred_at, occurred_at)))
         FROM changed_cluster_queue_events)
    ) AS since,
    greatest(
        (SELECT max(occurred_at) FROM changed_workload_events),
        (SELECT max(occurred_at) FROM changed_cluster_queue_events)
    ) AS latest;
