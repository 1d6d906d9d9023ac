-- Some staged ids were already stored (a redelivery, a relist, a replay): the changed events
-- are the new ids, plus the staged versions that beat their stored version (exact before
-- inferred, then earliest observed, then earliest occurred), with the stored version's time.
-- Only this rarer path joins the log by id.
-- Parameters: $inserted VARCHAR[]: the ids insert_new_workload_events.sql stored.
-- Leaves the temporary table changed_workload_events.
CREATE OR REPLACE TEMP TABLE changed_workload_events AS
WITH inserted AS (
    SELECT unnest($inserted::VARCHAR[]) AS event_id
)
SELECT s.*, NULL::TIMESTAMP AS stored_occurred_at
FROM staged_workload_events AS s
SEMI JOIN inserted AS i ON i.event_id = s.event_id
UNION ALL
SELECT s.*, e.occurred_at AS stored_occurred_at
FROM (
    SELECT * FROM staged_workload_events
    ANTI JOIN inserted AS i ON i.event_id = staged_workload_events.event_id
) AS s
JOIN workload_events AS e ON e.event_id = s.event_id
WHERE (s.inferred, s.observed_at, s.occurred_at) < (e.inferred, e.observed_at, e.occurred_at);
