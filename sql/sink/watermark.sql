-- The instant the aggregates are built to: no row when nothing is stored yet.
-- Parameters: none.
SELECT instant FROM aggregate_state WHERE name = 'watermark';
