-- Rebuilds workload_intervals and workload_waits for some Workloads from their views.
-- Parameters: $uids VARCHAR[]: the Workloads.
DELETE FROM workload_intervals WHERE list_contains($uids::VARCHAR[], uid);

INSERT INTO workload_intervals
SELECT * FROM v_workload_intervals WHERE list_contains($uids::VARCHAR[], uid);

DELETE FROM workload_waits WHERE list_contains($uids::VARCHAR[], uid);

INSERT INTO workload_waits
SELECT * FROM v_workload_waits WHERE list_contains($uids::VARCHAR[], uid);
