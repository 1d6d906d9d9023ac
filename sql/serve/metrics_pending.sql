-- Workloads pending at the watermark per cluster, team, ClusterQueue, instance type (''
-- when Kueue has not named one) and priority class, with the accelerators they request.
-- A pending Workload has no ClusterQueue in its status yet: its team's latest one stands in.
WITH moment AS (
    SELECT instant AS at FROM aggregate_state WHERE name = 'watermark'
),
queues AS (
    SELECT cluster, team, arg_max(name, occurred_at) AS cluster_queue
    FROM cluster_queue_events
    WHERE event_type <> 'deleted'
    GROUP BY cluster, team
)
SELECT
    w.cluster,
    w.team,
    coalesce(w.cluster_queue, q.cluster_queue, '') AS cluster_queue,
    coalesce(w.instance_type, '') AS instance_type,
    coalesce(w.priority_class, '') AS priority_class,
    count(*) AS workloads,
    sum(w.accelerators) AS accelerators
FROM workload_intervals AS w
CROSS JOIN moment AS m
LEFT JOIN queues AS q ON q.cluster = w.cluster AND q.team = w.team
WHERE w.phase = 'pending'
    AND w.start_at <= m.at
    AND (w.end_at IS NULL OR w.end_at > m.at)
GROUP BY ALL
ORDER BY ALL;
