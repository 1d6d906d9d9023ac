-- Stores the staged Workload events whose ids the log does not hold yet, found through the
-- primary key's index (no scan of the log), and returns their ids. A staged id already stored
-- is left for changed_workload_events.sql, which compares the two versions.
-- Parameters: none.
INSERT INTO workload_events
SELECT * FROM staged_workload_events
ON CONFLICT DO NOTHING
RETURNING event_id;
