-- Rebuilds workload_intervals (and open_workload_intervals) and workload_waits for some
-- Workloads from their events.
-- Parameters: $clusters VARCHAR[], $uids VARCHAR[]: the Workloads (same order);
-- $first_at TIMESTAMP: none of their events, stretches or waits starts before it
-- (workload_first_events), so every scan below reads only row groups whose zone maps reach
-- $first_at: the log's tail, not its history.
CREATE OR REPLACE TEMP TABLE touched_workloads AS
SELECT unnest($clusters::VARCHAR[]) AS cluster, unnest($uids::VARCHAR[]) AS uid;

CREATE OR REPLACE TEMP TABLE touched_workload_events AS
SELECT e.*
FROM workload_events AS e
SEMI JOIN touched_workloads AS t ON t.cluster = e.cluster AND t.uid = e.uid
WHERE e.occurred_at >= $first_at::TIMESTAMP;

CREATE OR REPLACE TEMP TABLE touched_workload_intervals AS
SELECT * FROM workload_intervals_of('touched_workload_events') ORDER BY start_at;

DELETE FROM workload_intervals AS w
USING touched_workloads AS t
WHERE w.start_at >= $first_at::TIMESTAMP AND w.cluster = t.cluster AND w.uid = t.uid;

INSERT INTO workload_intervals SELECT * FROM touched_workload_intervals;

DELETE FROM open_workload_intervals AS w
USING touched_workloads AS t
WHERE w.cluster = t.cluster AND w.uid = t.uid;

INSERT INTO open_workload_intervals
SELECT * FROM touched_workload_intervals WHERE end_at IS NULL;

DELETE FROM workload_waits AS w
USING touched_workloads AS t
WHERE w.started_at >= $first_at::TIMESTAMP AND w.cluster = t.cluster AND w.uid = t.uid;

INSERT INTO workload_waits
SELECT * FROM workload_waits_of('touched_workload_events') ORDER BY started_at;
