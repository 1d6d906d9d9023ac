-- cluster_queue_quotas read from the lake (one file, no partitions).
CREATE OR REPLACE VIEW cluster_queue_quotas AS
SELECT * FROM lake_cluster_queue_quotas;
