-- Idle guaranteed accelerators per day and instance type, and which teams were pending meanwhile.
-- A minute counts when the cohort had idle guarantee (nominal nobody used or borrowed) of that
-- instance type. Each team pending in the same cohort during those minutes, for that instance
-- type or one Kueue had not named yet, gets a row: waiting_gpu_hours is its pending demand
-- then, coverable_gpu_hours the part the idle capacity could have held. A day with idle
-- capacity and nobody waiting has one row with waiting_team NULL.
-- Parameters (NULL: no bound):
--   $since  TIMESTAMP, UTC: first minute counted (inclusive)
--   $until  TIMESTAMP, UTC: end of the range (exclusive)
--   $team   VARCHAR: only this waiting team
--
-- How (it reads usage_minutes of the range only, and groups nothing per team and minute):
-- usage_minutes has one row per cluster, team, instance type and minute, so a team's demand in
-- an idle minute is at most one row of that instance type plus one of an unnamed one. Both kinds
-- come from one join of the pending rows to the idle minutes (few rows: the build side), each
-- idle minute keyed twice: by its instance type and by NULL. The two kinds are then matched by a
-- full join on minute, instance type and team, not summed by a GROUP BY over every (minute,
-- team): that grouping and its hash table were most of the report's time over a month. Rows
-- with no idle accelerators are dropped before grouping the idle minutes (they add nothing).
-- The per-day sums use fsum (compensated, independent of the order threads add rows in), so a
-- value on a rounding tie rounds the same way on every run; plain sum's last bit varied.
WITH idle AS (
    SELECT cluster, cohort, instance_type, minute, fsum(idle_accelerators) AS idle
    FROM usage_minutes_in($since::TIMESTAMP, $until::TIMESTAMP, NULL)
    WHERE idle_accelerators <> 0
    GROUP BY ALL
    HAVING fsum(idle_accelerators) > 0
),
pending AS NOT MATERIALIZED (
    SELECT cluster, cohort, instance_type, minute, team, pending_accelerators AS pending
    FROM usage_minutes
    WHERE pending_accelerators > 0
        AND ($since::TIMESTAMP IS NULL OR minute >= $since::TIMESTAMP)
        AND ($until::TIMESTAMP IS NULL OR minute < $until::TIMESTAMP)
),
-- Each idle minute twice: keyed by its instance type, for the demand of that type, and by NULL,
-- for the demand of an instance type Kueue had not named yet (it counts towards every idle
-- instance type of the minute).
idle_keys AS NOT MATERIALIZED (
    SELECT *, instance_type AS demand_type FROM idle
    UNION ALL
    SELECT *, NULL FROM idle
),
-- Per idle minute and team, its pending demand of either kind. Neither this nor idle_keys is
-- materialized, and each kind below is chosen on both sides of the join (equal, by its last
-- condition): so the planner drops the other half of idle_keys and filters the pending rows
-- before each join, as two hand-written joins would, instead of joining everything twice.
demand AS NOT MATERIALIZED (
    SELECT
        i.cluster, i.cohort, i.instance_type, i.minute, p.team, p.pending, i.idle,
        i.demand_type, p.instance_type AS pending_type
    FROM idle_keys AS i
    JOIN pending AS p
        ON p.cluster = i.cluster
        AND p.cohort IS NOT DISTINCT FROM i.cohort
        AND p.minute = i.minute
        AND p.instance_type IS NOT DISTINCT FROM i.demand_type
),
named AS (SELECT * FROM demand WHERE demand_type IS NOT NULL AND pending_type IS NOT NULL),
unnamed AS (SELECT * FROM demand WHERE demand_type IS NULL AND pending_type IS NULL),
waiting AS (
    SELECT
        coalesce(t.cohort, n.cohort) AS cohort,
        coalesce(t.instance_type, n.instance_type) AS instance_type,
        coalesce(t.minute, n.minute) AS minute,
        coalesce(t.team, n.team) AS team,
        CASE
            WHEN t.team IS NULL THEN n.pending
            WHEN n.team IS NULL THEN t.pending
            ELSE t.pending + n.pending
        END AS pending,
        coalesce(t.idle, n.idle) AS idle
    FROM unnamed AS n
    FULL JOIN named AS t
        ON t.cluster = n.cluster
        AND t.cohort IS NOT DISTINCT FROM n.cohort
        AND t.instance_type = n.instance_type
        AND t.minute = n.minute
        AND t.team = n.team
),
idle_days AS (
    SELECT
        CAST(minute AS DATE) AS day,
        cohort,
        instance_type,
        fsum(idle) / 60 AS idle_gpu_hours,
        count(*) AS idle_minutes
    FROM idle
    GROUP BY ALL
),
waiting_days AS (
    SELECT
        CAST(minute AS DATE) AS day,
        cohort,
        instance_type,
        team,
        count(*) AS waiting_minutes,
        fsum(pending) / 60 AS waiting_gpu_hours,
        fsum(least(pending, idle)) / 60 AS coverable_gpu_hours
    FROM waiting
    GROUP BY ALL
)
SELECT
    d.day,
    d.cohort,
    d.instance_type,
    round(d.idle_gpu_hours, 3) AS idle_gpu_hours,
    d.idle_minutes,
    w.team AS waiting_team,
    coalesce(w.waiting_minutes, 0) AS waiting_minutes,
    round(coalesce(w.waiting_gpu_hours, 0), 3) AS waiting_gpu_hours,
    round(coalesce(w.coverable_gpu_hours, 0), 3) AS coverable_gpu_hours
FROM idle_days AS d
LEFT JOIN waiting_days AS w
    ON w.day = d.day
    AND w.cohort IS NOT DISTINCT FROM d.cohort
    AND w.instance_type = d.instance_type
WHERE $team::VARCHAR IS NULL OR w.team = $team::VARCHAR
ORDER BY d.day, d.cohort, d.instance_type, waiting_team NULLS FIRST;
