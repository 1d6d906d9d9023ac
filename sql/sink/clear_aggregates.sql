-- Empties every aggregate and drops the watermark (the event log is empty).
-- Parameters: none.
DELETE FROM workload_intervals;
DELETE FROM open_workload_intervals;
DELETE FROM workload_first_events;
DELETE FROM workload_waits;
DELETE FROM usage_minutes;
DELETE FROM aggregate_state WHERE name = 'watermark';
