-- Stores changed_workload_events: deletes the stored versions they beat (found from $first_at
-- on, as changed_workload_events.sql found them), then appends every changed event.
-- Parameters: $first_at TIMESTAMP, as for changed_workload_events.sql.
DELETE FROM workload_events AS e
USING changed_workload_events AS c
WHERE e.occurred_at >= $first_at::TIMESTAMP
    AND e.occurred_at = c.stored_occurred_at
    AND e.event_id = c.event_id
    AND e.cluster = c.cluster
    AND e.uid = c.uid;

INSERT INTO workload_events
SELECT * EXCLUDE (stored_occurred_at) FROM changed_workload_events;
