-- The lake's workload_intervals, partitioned by cluster and day (the day of start_at); a stretch
-- is changed when it starts at or after $since, is still open, or ends at or after $since (see
-- lake/partitions.sql).
-- Parameters: $since TIMESTAMP.
SELECT
    *,
    CAST(start_at AS DATE) AS day,
    start_at >= $since::TIMESTAMP OR end_at IS NULL OR end_at >= $since::TIMESTAMP AS changed
FROM workload_intervals;
