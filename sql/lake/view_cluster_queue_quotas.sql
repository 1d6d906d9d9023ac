-- cluster_queue_quotas read from the lake (see lake/read_lake.sql).
-- Parameters: none.
ALTER TABLE cluster_queue_quotas RENAME TO shape_cluster_queue_quotas;
CREATE VIEW cluster_queue_quotas AS
FROM lake_relation('shape_cluster_queue_quotas', 'lake_cluster_queue_quotas');
