-- How many Workload events are staged (after dedupe_staged_workload_events.sql).
-- Parameters: none.
SELECT count(*) FROM staged_workload_events;
