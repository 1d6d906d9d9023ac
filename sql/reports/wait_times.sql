-- Wait-time percentiles (p50, p95, p99, in seconds) by team, priority class and kind of wait.
-- initial: creation to first admission; readmission: eviction of an admitted Workload to its
-- next admission. Percentiles are over waits that ended in admission (quantile_disc: observed
-- values); still_waiting counts waits not over, abandoned those the Workload ended unadmitted.
-- The three percentiles come from one quantile_disc over a list of fractions: each group's
-- waits are ordered once, not three times (that sort is most of the report's time).
-- Parameters (NULL: no bound):
--   $since  TIMESTAMP, UTC: waits that started at or after it
--   $until  TIMESTAMP, UTC: waits that started before it
--   $team   VARCHAR: only this team
WITH per_group AS (
    SELECT
        team,
        priority_class,
        wait_kind,
        count(wait_s) AS waits,
        count(*) FILTER (WHERE outcome = 'waiting') AS still_waiting,
        count(*) FILTER (WHERE outcome = 'ended') AS abandoned,
        quantile_disc(wait_s, [0.50, 0.95, 0.99]) AS percentiles,
        max(wait_s) AS max_s
    FROM workload_waits
    WHERE ($since::TIMESTAMP IS NULL OR started_at >= $since::TIMESTAMP)
        AND ($until::TIMESTAMP IS NULL OR started_at < $until::TIMESTAMP)
        AND ($team::VARCHAR IS NULL OR team = $team::VARCHAR)
    GROUP BY ALL
)
SELECT
    team,
    priority_class,
    wait_kind,
    waits,
    still_waiting,
    abandoned,
    percentiles[1] AS p50_s,
    percentiles[2] AS p95_s,
    percentiles[3] AS p99_s,
    max_s
FROM per_group
ORDER BY team, priority_class NULLS LAST, wait_kind;
