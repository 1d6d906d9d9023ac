-- Starvation episodes: runs of minutes a team had pending demand while under its guarantee.
-- Per team and instance type (summed over clusters), a minute is starved when pending > 0 and
-- used < nominal; consecutive starved minutes form an episode. starved_gpu_hours is the
-- pending demand the unused guarantee could have held (min(pending, nominal - used)).
-- Pending demand whose instance type Kueue has not named is not counted. The starved minutes
-- come from starved_minutes (starved_minutes_from, kept by the sink): few rows, not history.
-- Parameters (NULL: no bound):
--   $since  TIMESTAMP, UTC: first minute counted (inclusive)
--   $until  TIMESTAMP, UTC: end of the range (exclusive)
--   $team   VARCHAR: only this team
WITH starved AS (
    SELECT
        *,
        minute - to_minutes(
            row_number() OVER (PARTITION BY team, instance_type ORDER BY minute)
        ) AS episode
    FROM starved_minutes
    WHERE ($since::TIMESTAMP IS NULL OR minute >= $since::TIMESTAMP)
        AND ($until::TIMESTAMP IS NULL OR minute < $until::TIMESTAMP)
        AND ($team::VARCHAR IS NULL OR team = $team::VARCHAR)
)
SELECT
    team,
    instance_type,
    min(minute) AS started_at,
    max(minute) + INTERVAL 1 MINUTE AS ended_at,
    count(*) AS starved_minutes,
    round(sum(least(pending, nominal - used)) / 60, 3) AS starved_gpu_hours,
    round(max(pending), 3) AS peak_pending_gpus,
    round(avg(nominal - used), 3) AS avg_unused_guarantee_gpus
FROM starved
GROUP BY team, instance_type, episode
ORDER BY started_at, team, instance_type;
