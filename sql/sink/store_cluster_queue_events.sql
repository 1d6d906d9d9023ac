-- Stores changed_cluster_queue_events and their quota lines, replacing the versions they beat.
-- Parameters: none.
DELETE FROM cluster_queue_quotas
WHERE event_id IN (SELECT event_id FROM changed_cluster_queue_events);

DELETE FROM cluster_queue_events
WHERE event_id IN (
    SELECT event_id FROM changed_cluster_queue_events WHERE stored_occurred_at IS NOT NULL
);

INSERT INTO cluster_queue_events
SELECT * EXCLUDE (position, stored_occurred_at) FROM changed_cluster_queue_events;

INSERT INTO cluster_queue_quotas
SELECT q.event_id, q.flavor, q.resource, q.nominal, q.borrowing_limit, q.lending_limit
FROM staged_cluster_queue_quotas AS q
JOIN changed_cluster_queue_events AS c ON c.event_id = q.event_id AND c.position = q.position;
