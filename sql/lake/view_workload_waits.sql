-- workload_waits read from the lake (see lake/read_lake.sql).
-- Parameters: none.
ALTER TABLE workload_waits RENAME TO shape_workload_waits;
CREATE VIEW workload_waits AS
FROM lake_relation('shape_workload_waits', 'lake_workload_waits');
