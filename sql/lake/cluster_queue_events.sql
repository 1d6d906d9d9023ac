-- The lake's cluster_queue_events, partitioned by cluster and day (the day of occurred_at); a row
-- is changed when it occurred at or after $since (see lake/partitions.sql).
-- Parameters: $since TIMESTAMP.
SELECT *, CAST(occurred_at AS DATE) AS day, occurred_at >= $since::TIMESTAMP AS changed
FROM cluster_queue_events;
