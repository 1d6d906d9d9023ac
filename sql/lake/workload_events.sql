-- The lake's workload_events, partitioned by cluster and day (the day of occurred_at).
-- With $since, only the partitions a change after it can reach: every row of the (cluster, day)
-- partitions that hold a row matching the condition below, so each partition is rewritten whole.
-- Parameters: $since TIMESTAMP (NULL: every partition).
WITH rows AS (
    SELECT *, CAST(occurred_at AS DATE) AS day FROM workload_events
),
dirty AS (
    SELECT DISTINCT cluster, day
    FROM rows
    WHERE occurred_at >= $since::TIMESTAMP
)
SELECT rows.*
FROM rows
WHERE $since::TIMESTAMP IS NULL
    OR (rows.cluster, rows.day) IN (SELECT (cluster, day) FROM dirty);
