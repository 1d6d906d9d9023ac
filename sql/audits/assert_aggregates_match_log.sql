-- assert_aggregates_match_log: where the materialized aggregates disagree with the event log.
--   workload_intervals, workload_waits  rows that differ from the views over the log, exactly
--       (missing: derived but not stored; extra: stored but not derived);
--   usage_minutes  per cluster, team, instance type, day and amount, the total (amount-minutes)
--       differs from the same total computed straight from the stretches (workload_intervals,
--       v_quota_history), beyond 1e-9 of it;
--   aggregate_state  the watermark is behind the latest event.
-- Incremental: once a pass is recorded in audit_passes (taskgov.store.audit_aggregates), it
-- checks only what the sink's refreshes rewrote since (aggregate_changes): those Workloads'
-- rows, and the days from the first minute rewritten; its cost follows the changes, not the
-- history. Everything is checked when no pass is recorded, after a rebuild, or on request:
-- SET VARIABLE taskgov_full_audit = true. The rows audited come through
-- workload_rows_in_scope (sql/views): every row with no per-row test when whole, else a hash
-- semi-join on the changed Workloads. The scoped CTEs are NOT MATERIALIZED: each use streams
-- from the table instead of holding the whole log in memory; each side of a comparison is read
-- once (multiset_differences).
WITH watermark AS (
    SELECT instant FROM aggregate_state WHERE name = 'watermark'
),
unaudited AS (
    SELECT c.*
    FROM aggregate_changes AS c
    WHERE c.change_id > (
        SELECT max(through_change) FROM audit_passes
        WHERE audit = 'assert_aggregates_match_log'
    )
),
-- whole: check everything. Else rows of the changed Workloads from events_from, and days from
-- minutes_from ('infinity': nothing of that kind changed).
scope AS (
    SELECT
        whole,
        CASE WHEN whole THEN '-infinity'::TIMESTAMP
            ELSE coalesce((SELECT min(first_at) FROM unaudited), 'infinity'::TIMESTAMP)
        END AS events_from,
        CASE WHEN whole THEN '-infinity'::TIMESTAMP
            ELSE coalesce(
                (SELECT date_trunc('day', min(since)) FROM unaudited), 'infinity'::TIMESTAMP
            )
        END AS minutes_from
    FROM (
        SELECT
            coalesce(getvariable('taskgov_full_audit'), false) OR log_audit_needs_whole()
                AS whole
    )
),
changed_workloads AS (
    SELECT DISTINCT unnest(clusters) AS cluster, unnest(uids) AS uid FROM unaudited
),
whole_audit AS (SELECT whole FROM scope),
audited_events AS NOT MATERIALIZED (
    FROM workload_rows_in_scope('workload_events', 'changed_workloads', (FROM whole_audit))
    WHERE occurred_at >= (SELECT events_from FROM scope)
),
audited_intervals AS NOT MATERIALIZED (
    FROM workload_rows_in_scope('workload_intervals', 'changed_workloads', (FROM whole_audit))
    WHERE start_at >= (SELECT events_from FROM scope)
),
audited_waits AS NOT MATERIALIZED (
    FROM workload_rows_in_scope('workload_waits', 'changed_workloads', (FROM whole_audit))
    WHERE started_at >= (SELECT events_from FROM scope)
),
derived_intervals AS NOT MATERIALIZED (FROM workload_intervals_of('audited_events')),
derived_waits AS NOT MATERIALIZED (FROM workload_waits_of('audited_events')),
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
    FROM workload_intervals AS w, watermark AS m, scope AS s
    WHERE w.end_at > s.minutes_from OR w.end_at IS NULL
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
    FROM v_quota_history AS h, watermark AS m, scope AS s
    WHERE h.valid_from < m.instant AND coalesce(h.valid_to, m.instant) > s.minutes_from
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
        SELECT
            st.*,
            unnest(range(date_trunc('day', greatest(st.start_at, s.minutes_from)), st.end_at,
                INTERVAL 1 DAY)) AS day_start
        FROM stretches AS st, scope AS s
        WHERE st.end_at > st.start_at AND st.end_at > s.minutes_from
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
-- Summed per day before unpivoting: one row per day and amount, not per minute and amount.
from_minutes AS (
    UNPIVOT (
        SELECT
            u.cluster,
            u.team,
            coalesce(u.instance_type, '') AS instance_type,
            CAST(u.minute AS DATE) AS day,
            sum(COLUMNS('^(nominal|used|pending)_'))
        FROM usage_minutes AS u, scope AS s
        WHERE u.minute >= s.minutes_from
        GROUP BY ALL
    )
    ON COLUMNS('^(nominal|used|pending)_')
    INTO NAME amount VALUE total
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
SELECT 'workload_intervals' AS aggregate_table, problem, uid AS subject, start_at AS instant
FROM multiset_differences('derived_intervals', 'audited_intervals')
UNION ALL
SELECT 'workload_waits', problem, uid, started_at
FROM multiset_differences('derived_waits', 'audited_waits')
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
