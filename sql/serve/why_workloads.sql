-- Every Workload pending or holding quota at $at in $cluster (default: the watermark, every
-- cluster), with what it requests: the state `taskgov why` explains and runs forward.
-- running_since is when its current stretch began (its admission, or when it began to wait).
-- Parameters:
--   $at       TIMESTAMP, UTC: the instant (default: the watermark)
--   $cluster  VARCHAR: only this cluster
WITH moment AS (
    SELECT coalesce(
        $at::TIMESTAMP, (SELECT instant FROM aggregate_state WHERE name = 'watermark')
    ) AS at
),
-- At the watermark, what is pending or running is what is open: the sink keeps those apart.
state AS (
    SELECT * FROM open_workload_intervals
    WHERE $at::TIMESTAMP IS NULL
        AND ($cluster::VARCHAR IS NULL OR cluster = $cluster::VARCHAR)
    UNION ALL
    SELECT w.*
    FROM workload_intervals AS w, moment AS m
    WHERE $at::TIMESTAMP IS NOT NULL
        AND w.start_at <= m.at
        AND (w.end_at IS NULL OR w.end_at > m.at)
        AND ($cluster::VARCHAR IS NULL OR w.cluster = $cluster::VARCHAR)
),
-- Only those Workloads' events are grouped.
requested AS (
    SELECT
        e.cluster,
        e.uid,
        arg_max(e.requests, e.occurred_at) AS requests,
        min(e.created_at) AS created_at
    FROM workload_events AS e
    SEMI JOIN state AS s ON s.cluster = e.cluster AND s.uid = e.uid
    GROUP BY e.cluster, e.uid
)
SELECT
    w.cluster,
    w.uid,
    w.namespace,
    w.name,
    w.team,
    w.local_queue,
    w.cluster_queue,
    w.priority,
    w.priority_class,
    w.instance_type,
    w.accelerators,
    w.phase,
    w.phase_since,
    r.created_at,
    r.requests,
    w.reason,
    w.message,
    w.cause,
    m.at
FROM state AS w
CROSS JOIN moment AS m
JOIN requested AS r ON r.cluster = w.cluster AND r.uid = w.uid
ORDER BY w.cluster, w.phase, w.priority DESC, r.created_at, w.namespace, w.name;
