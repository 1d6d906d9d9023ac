-- Pending time per day, team and cause: how long Workloads waited and for what.
-- Causes: waiting_for_quota, exceeds_max_quota, no_matching_flavor, waiting_for_preemption,
-- inactive_queue, other (see pending_cause). Stretches still open count up to the latest event.
-- pending_hours is Workload-hours; pending_gpu_hours weighs them by accelerators requested.
-- Parameters (NULL: no bound):
--   $since  TIMESTAMP, UTC: pending time at or after it
--   $until  TIMESTAMP, UTC: pending time before it
--   $team   VARCHAR: only this team
WITH bounds AS (
    SELECT
        coalesce($since::TIMESTAMP, TIMESTAMP '-infinity') AS since,
        least(
            coalesce($until::TIMESTAMP, TIMESTAMP 'infinity'),
            (SELECT instant FROM aggregate_state WHERE name = 'watermark')
        ) AS until
),
stretches AS (
    SELECT
        w.uid,
        w.team,
        w.cause,
        w.accelerators,
        greatest(w.start_at, b.since) AS start_at,
        least(coalesce(w.end_at, b.until), b.until) AS end_at
    FROM workload_intervals AS w, bounds AS b
    WHERE w.phase = 'pending'
        AND w.start_at < b.until
        AND (w.end_at IS NULL OR w.end_at > b.since)
        AND ($team::VARCHAR IS NULL OR w.team = $team::VARCHAR)
),
days AS (
    SELECT
        s.*,
        unnest(range(date_trunc('day', s.start_at), s.end_at, INTERVAL 1 DAY)) AS day_start
    FROM stretches AS s
    WHERE s.end_at > s.start_at
),
parts AS (
    SELECT
        *,
        date_diff(
            'millisecond',
            greatest(start_at, day_start),
            least(end_at, day_start + INTERVAL 1 DAY)
        ) / 3600000.0 AS hours
    FROM days
)
SELECT
    CAST(day_start AS DATE) AS day,
    team,
    cause,
    count(DISTINCT uid) AS workloads,
    round(sum(hours), 3) AS pending_hours,
    round(sum(hours * accelerators), 3) AS pending_gpu_hours
FROM parts
GROUP BY ALL
ORDER BY day, team, cause;
