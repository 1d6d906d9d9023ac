-- workload_events read from the lake (see lake/read_lake.sql).
-- Parameters: none.
ALTER TABLE workload_events RENAME TO shape_workload_events;
CREATE VIEW workload_events AS
FROM lake_relation('shape_workload_events', 'lake_workload_events');
