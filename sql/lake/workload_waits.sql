-- The lake's workload_waits, partitioned by cluster and day (the day of started_at); a wait is
-- changed when it started at or after $since, is still waiting, or was admitted at or after
-- $since (see lake/partitions.sql).
-- Parameters: $since TIMESTAMP.
SELECT
    *,
    CAST(started_at AS DATE) AS day,
    started_at >= $since::TIMESTAMP OR outcome = 'waiting' OR admitted_at >= $since::TIMESTAMP
        AS changed
FROM workload_waits;
