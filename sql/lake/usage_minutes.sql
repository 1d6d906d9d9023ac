-- The lake's usage_minutes, partitioned by cluster and day (the day of minute).
-- With $since, only the partitions a change after it can reach: every row of the (cluster, day)
-- partitions that hold a row matching the condition below, so each partition is rewritten whole.
-- Parameters: $since TIMESTAMP (NULL: every partition).
WITH rows AS (
    SELECT *, CAST(minute AS DATE) AS day FROM usage_minutes
),
dirty AS (
    SELECT DISTINCT cluster, day
    FROM rows
    WHERE minute >= $since::TIMESTAMP
)
SELECT rows.*
FROM rows
WHERE $since::TIMESTAMP IS NULL
    OR (rows.cluster, rows.day) IN (SELECT (cluster, day) FROM dirty);
