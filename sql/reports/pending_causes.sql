-- Pending time per day, team and cause: how long Workloads waited and for what.
-- Causes: waiting_for_quota, exceeds_max_quota, no_matching_flavor, waiting_for_preemption,
-- inactive_queue, other (see pending_cause). Stretches still open count up to the latest event.
-- pending_hours is Workload-hours; pending_gpu_hours weighs them by accelerators requested;
-- workloads counts the Workloads (cluster and uid) with pending time that day.
-- Whole days before the watermark's come from pending_cause_days (kept by the sink); the
-- partial days at either end of the range are computed from the stretches overlapping them
-- (pending_cause_parts_of, the same derivation), so the cost follows the range, not history.
-- Parameters (NULL: no bound):
--   $since  TIMESTAMP, UTC: pending time at or after it
--   $until  TIMESTAMP, UTC: pending time before it
--   $team   VARCHAR: only this team
WITH bounds AS (
    SELECT
        coalesce($since::TIMESTAMP, TIMESTAMP '-infinity') AS since,
        least(coalesce($until::TIMESTAMP, TIMESTAMP 'infinity'), instant) AS until,
        -- The first whole day of the range, and the end of the days the summary holds.
        CASE
            WHEN $since::TIMESTAMP IS NULL THEN TIMESTAMP '-infinity'
            WHEN date_trunc('day', $since::TIMESTAMP) = $since::TIMESTAMP THEN $since::TIMESTAMP
            ELSE date_trunc('day', $since::TIMESTAMP) + INTERVAL 1 DAY
        END AS whole_from,
        date_trunc('day', least(coalesce($until::TIMESTAMP, instant), instant)) AS whole_to
    FROM aggregate_state
    WHERE name = 'watermark'
),
-- The parts of the range the summary does not hold: at most one per day.
windows AS (
    SELECT since AS lo, until AS hi FROM bounds WHERE whole_from >= whole_to
    UNION ALL
    SELECT since, least(whole_from, until) FROM bounds WHERE whole_from < whole_to
    UNION ALL
    SELECT greatest(whole_to, since), until FROM bounds WHERE whole_from < whole_to
),
live_window AS (
    SELECT min(lo) AS lo, max(hi) AS hi FROM windows WHERE lo < hi
),
live_stretches AS (
    SELECT w.*
    FROM workload_intervals AS w, live_window AS l
    WHERE w.end_at > l.lo AND w.start_at < l.hi AND w.phase = 'pending'
        AND ($team::VARCHAR IS NULL OR w.team = $team::VARCHAR)
    UNION ALL
    SELECT o.*
    FROM open_workload_intervals AS o, live_window AS l
    WHERE o.start_at < l.hi AND o.phase = 'pending'
        AND ($team::VARCHAR IS NULL OR o.team = $team::VARCHAR)
),
live_parts AS (
    SELECT p.*
    FROM windows AS x, pending_cause_parts_of('live_stretches', x.lo, x.hi) AS p
    WHERE x.lo < x.hi
),
days AS (
    SELECT day, team, cause, workloads, pending_ms, pending_gpu_ms
    FROM pending_cause_days, bounds AS b
    WHERE day >= b.whole_from AND day < b.whole_to
    UNION ALL
    SELECT day, team, cause, count(*), sum(pending_ms), sum(pending_gpu_ms)
    FROM live_parts
    GROUP BY day, team, cause
)
SELECT
    day,
    team,
    cause,
    workloads,
    round(pending_ms / 3600000.0, 3) AS pending_hours,
    round(pending_gpu_ms / 3600000.0, 3) AS pending_gpu_hours
FROM days
WHERE $team::VARCHAR IS NULL OR team = $team::VARCHAR
ORDER BY day, team, cause;
