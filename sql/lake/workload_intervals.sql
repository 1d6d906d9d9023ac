-- The lake's workload_intervals, partitioned by cluster and day (the day of start_at).
-- With $since, only the partitions a change after it can reach: every row of the (cluster, day)
-- partitions that hold a row matching the condition below, so each partition is rewritten whole.
-- Parameters: $since TIMESTAMP (NULL: every partition).
WITH rows AS (
    SELECT *, CAST(start_at AS DATE) AS day FROM workload_intervals
),
dirty AS (
    SELECT DISTINCT cluster, day
    FROM rows
    WHERE start_at >= $since::TIMESTAMP OR end_at IS NULL OR end_at >= $since::TIMESTAMP
)
SELECT rows.*
FROM rows
WHERE $since::TIMESTAMP IS NULL
    OR (rows.cluster, rows.day) IN (SELECT (cluster, day) FROM dirty);
