-- assert_aggregates_match_log: where the materialized aggregates disagree with the event log.
--   workload_intervals, workload_waits  rows that differ from the views over the log, exactly
--       (missing: derived but not stored; extra: stored but not derived);
--   usage_minutes  per cluster, team, instance type, day and amount, the total (amount-minutes)
--       differs from the same total computed straight from the stretches (workload_intervals,
--       v_quota_history), beyond 1e-9 of it;
--   aggregate_state  the watermark is behind the latest event.
WITH watermark AS (
    SELECT instant FROM aggregate_state WHERE name = 'watermark'
),
-- Every stretch with the amounts it holds, open ones ending at the watermark.
stretches AS (
    SELECT
        w.cluster,
        w.team,
        coalesce(w.instance_type, '') AS instance_type,
        w.start_at,
        coalesce(w.end_at, m.instant) AS end_at,
        CASE w.phase WHEN 'admitted' THEN 'used' ELSE 'pending' END AS measure,
        w.accelerators,
        w.cpu_millis,
        w.memory_bytes
    FROM workload_intervals AS w, watermark AS m
    UNION ALL
    SELECT
        h.cluster,
        h.team,
        h.flavor,
        h.valid_from,
        least(coalesce(h.valid_to, m.instant), m.instant),
        'nominal',
        sum(h.nominal) FILTER (accounted_resource(h.resource) = 'accelerators'),
        sum(h.nominal) FILTER (accounted_resource(h.resource) = 'cpu_millis'),
        sum(h.nominal) FILTER (accounted_resource(h.resource) = 'memory_bytes')
    FROM v_quota_history AS h, watermark AS m
    WHERE h.valid_from < m.instant
    GROUP BY ALL
),
log_days AS (
    SELECT
        cluster,
        team,
        instance_type,
        day_start,
        measure,
        date_diff(
            'microsecond', greatest(start_at, day_start), least(end_at, day_start + INTERVAL 1 DAY)
        ) / 60000000.0 AS minutes,
        accelerators,
        cpu_millis,
        memory_bytes
    FROM (
        SELECT *, unnest(range(date_trunc('day', start_at), end_at, INTERVAL 1 DAY)) AS day_start
        FROM stretches
        WHERE end_at > start_at
    )
),
from_log AS (
    SELECT
        cluster,
        team,
        instance_type,
        CAST(day_start AS DATE) AS day,
        measure || '_' || amount.resource AS amount,
        sum(minutes * amount.value) AS total
    FROM (
        SELECT
            *,
            unnest([
                {'resource': 'accelerators', 'value': coalesce(accelerators, 0)},
                {'resource': 'cpu_millis', 'value': coalesce(cpu_millis, 0)},
                {'resource': 'memory_bytes', 'value': coalesce(memory_bytes, 0)}
            ]) AS amount
        FROM log_days
    )
    GROUP BY ALL
),
from_minutes AS (
    SELECT
        cluster,
        team,
        coalesce(instance_type, '') AS instance_type,
        CAST(minute AS DATE) AS day,
        amount,
        sum(total) AS total
    FROM (
        UNPIVOT usage_minutes
        ON COLUMNS('^(nominal|used|pending)_')
        INTO NAME amount VALUE total
    )
    GROUP BY ALL
),
minute_drift AS (
    SELECT
        coalesce(l.team, m.team) AS team,
        coalesce(l.day, m.day) AS day,
        coalesce(l.total, 0) AS log_total,
        coalesce(m.total, 0) AS minutes_total
    FROM from_log AS l
    FULL JOIN from_minutes AS m
        ON m.cluster = l.cluster
        AND m.team = l.team
        AND m.instance_type = l.instance_type
        AND m.day = l.day
        AND m.amount = l.amount
)
SELECT
    'workload_intervals' AS aggregate_table,
    'missing' AS problem,
    uid AS subject,
    start_at AS instant
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
SELECT DISTINCT 'usage_minutes', 'day total differs from the log', team, CAST(day AS TIMESTAMP)
FROM minute_drift
WHERE abs(log_total - minutes_total) > 1e-9 * greatest(1, abs(log_total), abs(minutes_total))
UNION ALL
SELECT 'aggregate_state', 'watermark behind the log', NULL, w.instant
FROM watermark AS w
WHERE w.instant < greatest(
    (SELECT max(occurred_at) FROM workload_events),
    (SELECT max(occurred_at) FROM cluster_queue_events)
)
ORDER BY aggregate_table, problem, instant, subject;
