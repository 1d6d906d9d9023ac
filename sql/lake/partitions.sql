-- The rows of one partitioned lake table to write: every row of each (cluster, day) partition
-- that holds a changed row, so each partition is rewritten whole.
-- Reads lake_rows: the table's rows with its partition key day and a boolean changed (one of
-- lake/workload_events.sql, cluster_queue_events.sql, usage_minutes.sql, workload_intervals.sql,
-- workload_waits.sql, which say what a change after $since can reach).
SELECT * EXCLUDE (changed)
FROM lake_rows
WHERE (cluster, day) IN (SELECT DISTINCT (cluster, day) FROM lake_rows WHERE changed);
