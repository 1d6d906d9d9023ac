-- Replaces the stored versions that changed_workload_events beat (new ids are already stored).
-- Parameters: none.
DELETE FROM workload_events
WHERE event_id IN (
    SELECT event_id FROM changed_workload_events WHERE stored_occurred_at IS NOT NULL
);

INSERT INTO workload_events
SELECT * EXCLUDE (stored_occurred_at)
FROM changed_workload_events
WHERE stored_occurred_at IS NOT NULL;
