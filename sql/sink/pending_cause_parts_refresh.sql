-- Brings pending_cause_parts and pending_cause_days to the watermark's day ($through): the
-- touched Workloads' parts are replaced from their stretches (workload_intervals, already
-- refreshed), and when the watermark entered a new day, every other Workload's parts of the
-- days it completed are added (stretches ending after $previous_through, or still open). The
-- differences are added to pending_cause_days, so no day is summed again from its parts.
-- Parameters: $clusters VARCHAR[], $uids VARCHAR[]: the touched Workloads (same order);
-- $first_at TIMESTAMP: none of their stretches starts earlier; $previous_through,
-- $through TIMESTAMP: the previous and the new watermark's day.
CREATE OR REPLACE TEMP TABLE pending_cause_workloads AS
SELECT unnest($clusters::VARCHAR[]) AS cluster, unnest($uids::VARCHAR[]) AS uid;

CREATE OR REPLACE TEMP TABLE pending_cause_changes AS
WITH removed AS (
    DELETE FROM pending_cause_parts AS p
    USING pending_cause_workloads AS t
    WHERE p.day >= CAST($first_at::TIMESTAMP AS DATE) AND p.cluster = t.cluster AND p.uid = t.uid
    RETURNING p.*
)
SELECT day, team, cause, -1 AS workloads, -pending_ms AS pending_ms,
    -pending_gpu_ms AS pending_gpu_ms
FROM removed;

CREATE OR REPLACE TEMP TABLE touched_pending_stretches AS
SELECT w.*
FROM workload_intervals AS w
SEMI JOIN pending_cause_workloads AS t ON t.cluster = w.cluster AND t.uid = w.uid
WHERE w.start_at >= $first_at::TIMESTAMP AND w.phase = 'pending';

CREATE OR REPLACE TEMP TABLE completed_day_stretches AS
SELECT s.*
FROM (
    SELECT * FROM workload_intervals
    WHERE $previous_through::TIMESTAMP < $through::TIMESTAMP
        AND end_at > $previous_through::TIMESTAMP
        AND start_at < $through::TIMESTAMP
        AND phase = 'pending'
    UNION ALL
    SELECT * FROM open_workload_intervals
    WHERE $previous_through::TIMESTAMP < $through::TIMESTAMP
        AND start_at < $through::TIMESTAMP
        AND phase = 'pending'
) AS s
ANTI JOIN pending_cause_workloads AS t ON t.cluster = s.cluster AND t.uid = s.uid;

CREATE OR REPLACE TEMP TABLE added_pending_cause_parts AS
SELECT * FROM pending_cause_parts_of('touched_pending_stretches', '-infinity', $through)
UNION ALL
SELECT * FROM pending_cause_parts_of(
    'completed_day_stretches', $previous_through, $through
);

INSERT INTO pending_cause_parts SELECT * FROM added_pending_cause_parts ORDER BY day;

INSERT INTO pending_cause_changes
SELECT day, team, cause, 1, pending_ms, pending_gpu_ms FROM added_pending_cause_parts;

INSERT INTO pending_cause_days
SELECT day, team, cause, sum(workloads), sum(pending_ms), sum(pending_gpu_ms)
FROM pending_cause_changes
GROUP BY day, team, cause
ON CONFLICT (day, team, cause) DO UPDATE SET
    workloads = pending_cause_days.workloads + excluded.workloads,
    pending_ms = pending_cause_days.pending_ms + excluded.pending_ms,
    pending_gpu_ms = pending_cause_days.pending_gpu_ms + excluded.pending_gpu_ms;

DELETE FROM pending_cause_days WHERE workloads = 0;
