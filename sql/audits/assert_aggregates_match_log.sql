-- assert_aggregates_match_log: rows of the materialized aggregates that differ from what the
-- event log derives now (missing: derived but not stored; extra: stored but not derived).
-- Rebuilds everything, so it costs about what a full refresh does.
WITH watermark AS (
    SELECT instant FROM aggregate_state WHERE name = 'watermark'
),
first_event AS (
    SELECT least(
        (SELECT min(occurred_at) FROM workload_events),
        (SELECT min(occurred_at) FROM cluster_queue_events)
    ) AS instant
),
derived_minutes AS (
    SELECT *
    FROM usage_minutes_between(
        (SELECT instant FROM first_event), (SELECT instant FROM watermark)
    )
)
SELECT 'workload_intervals' AS aggregate_table, 'missing' AS problem, uid, start_at AS instant
FROM (SELECT * FROM v_workload_intervals EXCEPT ALL SELECT * FROM workload_intervals)
UNION ALL
SELECT 'workload_intervals', 'extra', uid, start_at
FROM (SELECT * FROM workload_intervals EXCEPT ALL SELECT * FROM v_workload_intervals)
UNION ALL
SELECT 'workload_waits', 'missing', uid, started_at
FROM (SELECT * FROM v_workload_waits EXCEPT ALL SELECT * FROM workload_waits)
UNION ALL
SELECT 'workload_waits', 'extra', uid, started_at
FROM (SELECT * FROM workload_waits EXCEPT ALL SELECT * FROM v_workload_waits)
UNION ALL
SELECT 'usage_minutes', 'missing', team, minute
FROM (SELECT * FROM derived_minutes EXCEPT ALL SELECT * FROM usage_minutes)
UNION ALL
SELECT 'usage_minutes', 'extra', team, minute
FROM (SELECT * FROM usage_minutes EXCEPT ALL SELECT * FROM derived_minutes)
UNION ALL
SELECT 'aggregate_state', 'watermark behind the log', NULL, w.instant
FROM watermark AS w
WHERE w.instant < greatest(
    (SELECT max(occurred_at) FROM workload_events),
    (SELECT max(occurred_at) FROM cluster_queue_events)
)
ORDER BY aggregate_table, problem, instant, uid;
