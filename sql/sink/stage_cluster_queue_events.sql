-- The sink's batch of ClusterQueue events, one version per event id (earliest observed, then
-- earliest occurred, then first in the batch).
-- Two statements: the first creates the temporary table staged_cluster_queue_events, typed like
-- cluster_queue_events with the event's place in the batch first; the second fills it (run only
-- when the batch has rows; an empty list has no columns to name).
-- Parameters (second statement): $rows, one STRUCT per event with the columns of
-- cluster_queue_events (times naive UTC) and position (its place in the batch).
CREATE OR REPLACE TEMP TABLE staged_cluster_queue_events AS
SELECT 0::INTEGER AS position, * FROM cluster_queue_events LIMIT 0;

INSERT INTO staged_cluster_queue_events BY NAME
SELECT * FROM (SELECT unnest($rows, recursive := true))
QUALIFY row_number() OVER (
    PARTITION BY event_id ORDER BY observed_at, occurred_at, position
) = 1;
