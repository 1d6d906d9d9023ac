-- The quota lines of the batch's ClusterQueue events.
-- Two statements: the first creates the temporary table staged_cluster_queue_quotas, typed like
-- cluster_queue_quotas with the place of the line's event in the batch first; the second fills
-- it (run only when the batch has lines).
-- Parameters (second statement): $rows, one STRUCT per line with the columns of
-- cluster_queue_quotas (NULL limits: none) and position.
CREATE OR REPLACE TEMP TABLE staged_cluster_queue_quotas AS
SELECT 0::INTEGER AS position, * FROM cluster_queue_quotas LIMIT 0;

INSERT INTO staged_cluster_queue_quotas BY NAME SELECT unnest($rows, recursive := true);
