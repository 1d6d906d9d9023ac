-- Rebuilds workload_intervals and workload_waits whole from their views.
-- Parameters: none.
DELETE FROM workload_intervals;
INSERT INTO workload_intervals SELECT * FROM v_workload_intervals;
DELETE FROM workload_waits;
INSERT INTO workload_waits SELECT * FROM v_workload_waits;
