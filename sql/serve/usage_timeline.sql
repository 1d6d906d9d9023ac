-- Per time bucket, team and instance type: the guarantee and how it was spent, in accelerators
-- averaged over the bucket (the dashboard's cluster page). within_guarantee + lent + idle is
-- the guarantee; borrowed is used above it. Buckets are whole minutes, as many as keep the
-- range to at most 360 points, counted from the range's first minute; minutes without a row
-- hold zero of everything (usage_minutes leaves such rows out), so sums divide by the bucket.
-- Pending demand whose instance type Kueue has not named is left out.
-- Parameters (NULL: no bound):
--   $since    TIMESTAMP, UTC: first minute counted (inclusive; default: the first recorded)
--   $until    TIMESTAMP, UTC: end of the range (exclusive; default: after the last recorded)
--   $cluster  VARCHAR: only this cluster (default: all, summed)
--   $team     VARCHAR: only this team
WITH bounds AS (
    SELECT
        coalesce($since::TIMESTAMP, min(minute)) AS since,
        coalesce($until::TIMESTAMP, max(minute) + INTERVAL 1 MINUTE) AS until
    FROM usage_minutes
    WHERE ($cluster::VARCHAR IS NULL OR cluster = $cluster::VARCHAR)
),
step AS (
    SELECT
        since,
        until,
        greatest(1, ceil(date_diff('minute', since, until) / 360))::INTEGER AS bucket_minutes
    FROM bounds
)
SELECT
    time_bucket(to_minutes(s.bucket_minutes), u.minute, s.since) AS bucket_start,
    any_value(s.bucket_minutes) AS bucket_minutes,
    u.team,
    u.instance_type,
    round(sum(u.nominal_accelerators) / any_value(s.bucket_minutes), 3) AS guaranteed,
    round(
        sum(u.used_accelerators - u.borrowed_accelerators) / any_value(s.bucket_minutes), 3
    ) AS within_guarantee,
    round(sum(u.borrowed_accelerators) / any_value(s.bucket_minutes), 3) AS borrowed,
    round(sum(u.lent_accelerators) / any_value(s.bucket_minutes), 3) AS lent,
    round(sum(u.idle_accelerators) / any_value(s.bucket_minutes), 3) AS idle,
    round(sum(u.pending_accelerators) / any_value(s.bucket_minutes), 3) AS pending
FROM usage_minutes AS u, step AS s
WHERE u.instance_type IS NOT NULL
    AND u.minute >= s.since
    AND u.minute < s.until
    -- The same bounds as constants, so a range reads only its row groups (zone maps).
    AND ($since::TIMESTAMP IS NULL OR u.minute >= $since::TIMESTAMP)
    AND ($until::TIMESTAMP IS NULL OR u.minute < $until::TIMESTAMP)
    AND ($cluster::VARCHAR IS NULL OR u.cluster = $cluster::VARCHAR)
    AND ($team::VARCHAR IS NULL OR u.team = $team::VARCHAR)
GROUP BY bucket_start, u.team, u.instance_type
ORDER BY u.instance_type, u.team, bucket_start;
