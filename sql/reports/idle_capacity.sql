-- Idle guaranteed accelerators per day and instance type, and which teams were pending meanwhile.
-- A minute counts when the cohort had idle guarantee (nominal nobody used or borrowed) of that
-- instance type. Each team pending in the same cohort during those minutes, for that instance
-- type or one Kueue had not named yet, gets a row: waiting_gpu_hours is its pending demand
-- then, coverable_gpu_hours the part the idle capacity could have held. A day with idle
-- capacity and nobody waiting has one row with waiting_team NULL.
-- Parameters (NULL: no bound):
--   $since  TIMESTAMP, UTC: first minute counted (inclusive)
--   $until  TIMESTAMP, UTC: end of the range (exclusive)
--   $team   VARCHAR: only this waiting team (days nobody waited are left out)
WITH idle AS (
    SELECT cluster, cohort, instance_type, minute, sum(idle_accelerators) AS idle
    FROM usage_minutes_in($since::TIMESTAMP, $until::TIMESTAMP, NULL)
    GROUP BY ALL
    HAVING sum(idle_accelerators) > 0
),
waiting AS (
    SELECT
        i.cluster,
        i.cohort,
        i.instance_type,
        i.minute,
        u.team,
        sum(u.pending_accelerators) AS pending,
        any_value(i.idle) AS idle
    FROM idle AS i
    JOIN usage_minutes AS u
        ON u.cluster = i.cluster
        AND u.cohort IS NOT DISTINCT FROM i.cohort
        AND u.minute = i.minute
        AND (u.instance_type = i.instance_type OR u.instance_type IS NULL)
    WHERE u.pending_accelerators > 0
    GROUP BY ALL
),
idle_days AS (
    SELECT
        CAST(minute AS DATE) AS day,
        cohort,
        instance_type,
        sum(idle) / 60 AS idle_gpu_hours,
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
        sum(pending) / 60 AS waiting_gpu_hours,
        sum(least(pending, idle)) / 60 AS coverable_gpu_hours
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
