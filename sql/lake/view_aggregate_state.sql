-- aggregate_state read from the lake (see lake/read_lake.sql).
-- Parameters: none.
ALTER TABLE aggregate_state RENAME TO shape_aggregate_state;
CREATE VIEW aggregate_state AS
FROM lake_relation('shape_aggregate_state', 'lake_aggregate_state');
