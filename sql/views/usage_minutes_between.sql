-- usage_minutes_between(since, until): the usage_minutes rows of every minute from the one
-- holding `since` up to `until` (the watermark: the latest event time), built from
-- v_quota_history and the materialized workload_intervals. Stretches still open end at `until`,
-- so its minute is partial until a later refresh. The sink replaces the minutes >= since.
--
-- Each value is the minute's time-weighted average amount: exact, because every step (a quota
-- line, a Workload's requests) is summed as integer amount x microseconds before one division.
-- The cohort of a team in a minute is the one of its ClusterQueue as of the minute's start.
--
-- borrowed = max(used - nominal, 0) and unused = max(nominal - used, 0), per team.
-- Lent rule, per cluster, cohort, instance type, resource and minute:
--   lent_total = min(sum of the members' unused, sum of the members' borrowed)
-- and each member lends lent_total * its unused / sum of unused: Kueue does not record whose
-- quota a borrower used, so the borrowing is attributed to the idle guarantees in proportion
-- (lendingLimit is not applied). idle = unused - lent. A team without a cohort lends nothing.
CREATE OR REPLACE MACRO usage_minutes_between(since, until) AS TABLE
WITH bounds AS (
    SELECT
        date_trunc('minute', since::TIMESTAMP) AS first_minute,
        until::TIMESTAMP AS end_at
),
-- 1. Stretches during which an amount holds: quota lines, and admitted or pending Workloads.
segments AS (
    SELECT
        h.cluster,
        h.team,
        h.flavor AS instance_type,
        accounted_resource(h.resource) AS resource,
        h.nominal AS nominal,
        0 AS used,
        0 AS pending,
        h.valid_from AS start_at,
        h.valid_to AS end_at
    FROM v_quota_history AS h
    WHERE accounted_resource(h.resource) IS NOT NULL AND h.nominal <> 0
    UNION ALL
    SELECT
        r.cluster,
        r.team,
        coalesce(r.instance_type, '') AS instance_type,
        r.amount.resource AS resource,
        0 AS nominal,
        CASE WHEN r.phase = 'admitted' THEN r.amount.value ELSE 0 END AS used,
        CASE WHEN r.phase = 'pending' THEN r.amount.value ELSE 0 END AS pending,
        r.start_at,
        r.end_at
    FROM (
        SELECT
            w.*,
            unnest([
                {'resource': 'accelerators', 'value': w.accelerators},
                {'resource': 'cpu_millis', 'value': w.cpu_millis},
                {'resource': 'memory_bytes', 'value': w.memory_bytes}
            ]) AS amount
        FROM workload_intervals AS w, bounds AS b
        WHERE w.start_at < b.end_at AND (w.end_at IS NULL OR w.end_at > b.first_minute)
    ) AS r
    WHERE r.amount.value <> 0
),
-- 2. Clip to the bounds: a stretch begun earlier counts from the first minute, and every
--    stretch still open ends at `until`.
clipped AS (
    SELECT
        s.cluster,
        s.team,
        s.instance_type,
        s.resource,
        s.nominal,
        s.used,
        s.pending,
        greatest(s.start_at, b.first_minute) AS start_at,
        least(coalesce(s.end_at, b.end_at), b.end_at) AS end_at
    FROM segments AS s, bounds AS b
    WHERE s.start_at < b.end_at AND (s.end_at IS NULL OR s.end_at > b.first_minute)
),
-- 3. Step changes: + at the start, - at the end.
changes AS (
    SELECT cluster, team, instance_type, resource, start_at AS changed_at, nominal, used, pending
    FROM clipped
    UNION ALL
    SELECT cluster, team, instance_type, resource, end_at AS changed_at, -nominal, -used, -pending
    FROM clipped
),
-- 4. Per key and minute with changes: the net change, and the amount x microseconds the
--    changes add to the minute (each counts from its instant to the minute's end).
per_minute AS (
    SELECT
        cluster,
        team,
        instance_type,
        resource,
        date_trunc('minute', changed_at) AS minute,
        sum(nominal) AS d_nominal,
        sum(used) AS d_used,
        sum(pending) AS d_pending,
        sum(nominal::HUGEINT * micros_left) AS nominal_us,
        sum(used::HUGEINT * micros_left) AS used_us,
        sum(pending::HUGEINT * micros_left) AS pending_us
    FROM (
        SELECT
            *,
            date_diff('microsecond', changed_at, date_trunc('minute', changed_at) + INTERVAL 1 MINUTE)
                AS micros_left
        FROM changes
    )
    GROUP BY ALL
),
-- 5. The level after each minute with changes, held until the key's next such minute.
steps AS (
    SELECT
        *,
        sum(d_nominal) OVER k AS nominal_after,
        sum(d_used) OVER k AS used_after,
        sum(d_pending) OVER k AS pending_after,
        lead(minute, 1, minute) OVER k AS next_minute
    FROM per_minute
    WINDOW k AS (PARTITION BY cluster, team, instance_type, resource ORDER BY minute)
),
-- 6. Spans of a team's cohort, in whole minutes (as of each minute's start); before the first
--    ClusterQueue event the team has none.
cohort_spans AS (
    SELECT
        cluster,
        team,
        cohort,
        ceil_minute(valid_from) AS from_minute,
        coalesce(
            ceil_minute(lead(valid_from) OVER (PARTITION BY cluster, team ORDER BY valid_from)),
            TIMESTAMP 'infinity'
        ) AS to_minute
    FROM v_team_cohorts
    UNION ALL
    SELECT cluster, team, NULL, TIMESTAMP '-infinity', ceil_minute(min(valid_from))
    FROM v_team_cohorts
    GROUP BY cluster, team
),
spans AS (
    SELECT
        s.*,
        c.cohort,
        coalesce(c.from_minute, TIMESTAMP '-infinity') AS from_minute,
        coalesce(c.to_minute, TIMESTAMP 'infinity') AS to_minute
    FROM steps AS s
    LEFT JOIN cohort_spans AS c
        ON c.cluster = s.cluster
        AND c.team = s.team
        AND c.from_minute < greatest(s.next_minute, s.minute + INTERVAL 1 MINUTE)
        AND c.to_minute > s.minute
),
-- 7. Every minute: the one with changes (level before + what changed within it), then each
--    minute up to the next change at the level after (runs at zero are skipped).
dense AS (
    SELECT
        cluster,
        cohort,
        team,
        instance_type,
        resource,
        minute,
        (nominal_after - d_nominal)::HUGEINT * 60000000 + nominal_us AS nominal_us,
        (used_after - d_used)::HUGEINT * 60000000 + used_us AS used_us,
        (pending_after - d_pending)::HUGEINT * 60000000 + pending_us AS pending_us
    FROM spans
    WHERE minute >= from_minute AND minute < to_minute
    UNION ALL
    SELECT
        cluster,
        cohort,
        team,
        instance_type,
        resource,
        unnest(range(
            greatest(minute + INTERVAL 1 MINUTE, from_minute),
            least(next_minute, to_minute),
            INTERVAL 1 MINUTE
        )) AS minute,
        nominal_after::HUGEINT * 60000000 AS nominal_us,
        used_after::HUGEINT * 60000000 AS used_us,
        pending_after::HUGEINT * 60000000 AS pending_us
    FROM spans
    WHERE nominal_after <> 0 OR used_after <> 0 OR pending_after <> 0
),
-- 8. Borrowed and unused per team; the cohort totals where someone borrowed and someone had
--    guarantee unused (elsewhere nothing is lent).
shares AS (
    SELECT
        d.*,
        greatest(d.used_us - d.nominal_us, 0) AS borrowed_us,
        greatest(d.nominal_us - d.used_us, 0) AS unused_us
    FROM dense AS d, bounds AS b
    WHERE d.minute < b.end_at AND (d.nominal_us <> 0 OR d.used_us <> 0 OR d.pending_us <> 0)
),
lenders AS (
    SELECT
        cluster,
        cohort,
        instance_type,
        resource,
        minute,
        sum(unused_us) AS cohort_unused_us,
        sum(borrowed_us) AS cohort_borrowed_us
    FROM shares
    WHERE cohort IS NOT NULL
    GROUP BY ALL
    HAVING sum(unused_us) > 0 AND sum(borrowed_us) > 0
),
lending AS (
    SELECT
        s.*,
        CASE
            WHEN l.cohort_unused_us IS NULL OR s.unused_us = 0 THEN 0.0
            WHEN l.cohort_borrowed_us >= l.cohort_unused_us THEN s.unused_us::DOUBLE
            ELSE l.cohort_borrowed_us::DOUBLE * s.unused_us::DOUBLE / l.cohort_unused_us::DOUBLE
        END AS lent_us
    FROM shares AS s
    LEFT JOIN lenders AS l
        ON l.cluster = s.cluster
        AND l.cohort = s.cohort
        AND l.instance_type = s.instance_type
        AND l.resource = s.resource
        AND l.minute = s.minute
)
SELECT
    cluster,
    cohort,
    team,
    nullif(instance_type, '') AS instance_type,
    resource,
    minute,
    nominal_us::DOUBLE / 60000000 AS nominal,
    used_us::DOUBLE / 60000000 AS used,
    borrowed_us::DOUBLE / 60000000 AS borrowed,
    lent_us / 60000000 AS lent,
    (unused_us::DOUBLE - lent_us) / 60000000 AS idle,
    pending_us::DOUBLE / 60000000 AS pending
FROM lending;
