-- aggregate_state read from the lake (one file, no partitions).
CREATE OR REPLACE VIEW aggregate_state AS
SELECT * FROM lake_aggregate_state;
