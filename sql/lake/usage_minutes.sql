-- The lake's usage_minutes, partitioned by cluster and day (the day of minute); a row is changed
-- when its minute is at or after $since (see lake/partitions.sql).
-- Parameters: $since TIMESTAMP.
SELECT *, CAST(minute AS DATE) AS day, minute >= $since::TIMESTAMP AS changed
FROM usage_minutes;
