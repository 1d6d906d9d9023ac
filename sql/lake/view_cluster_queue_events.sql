-- cluster_queue_events read from the lake (see lake/read_lake.sql).
-- Parameters: none.
ALTER TABLE cluster_queue_events RENAME TO shape_cluster_queue_events;
CREATE VIEW cluster_queue_events AS
FROM lake_relation('shape_cluster_queue_events', 'lake_cluster_queue_events');
