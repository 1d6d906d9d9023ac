-- Every staged Workload event was new (the usual batch): all of them changed, none replaced a
-- stored version. Already stored by insert_new_workload_events.sql.
-- Parameters: none. Leaves the temporary table changed_workload_events.
CREATE OR REPLACE TEMP TABLE changed_workload_events AS
SELECT *, NULL::TIMESTAMP AS stored_occurred_at
FROM staged_workload_events;
