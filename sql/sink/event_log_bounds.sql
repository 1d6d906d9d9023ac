-- The latest and earliest event of the log (NULL when it is empty).
-- Parameters: none.
SELECT
    greatest(
        (SELECT max(occurred_at) FROM workload_events),
        (SELECT max(occurred_at) FROM cluster_queue_events)
    ) AS latest,
    least(
        (SELECT min(occurred_at) FROM workload_events),
        (SELECT min(occurred_at) FROM cluster_queue_events)
    ) AS earliest;
