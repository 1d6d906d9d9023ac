-- The lake's aggregate_state (the watermark the aggregates are built to): one file.
-- Parameters: none.
SELECT * FROM aggregate_state;
