-- In the in-memory database that reads a lake: the sink's table of open stretches, filled from
-- the lake's workload_intervals, so reports read the lake as they read the DuckDB file (the
-- report summaries are then rebuilt from the lake: see taskgov/store/lake.py).
-- Parameters: none.
INSERT INTO open_workload_intervals SELECT * FROM workload_intervals WHERE end_at IS NULL;
