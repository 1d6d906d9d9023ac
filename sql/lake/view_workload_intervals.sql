-- workload_intervals read from the lake (see lake/read_lake.sql).
-- Parameters: none.
ALTER TABLE workload_intervals RENAME TO shape_workload_intervals;
CREATE VIEW workload_intervals AS
FROM lake_relation('shape_workload_intervals', 'lake_workload_intervals');
