-- Workloads pending at the watermark per cluster, team, ClusterQueue, instance type (''
-- when Kueue has not named one) and priority class, with the accelerators they request.
-- A pending Workload has no ClusterQueue in its status yet: its team's latest one stands in.
-- Pending at the watermark is open (open_workload_intervals), so the history is not read.
SELECT
    w.cluster,
    w.team,
    coalesce(w.cluster_queue, q.cluster_queue, '') AS cluster_queue,
    coalesce(w.instance_type, '') AS instance_type,
    coalesce(w.priority_class, '') AS priority_class,
    count(*) AS workloads,
    sum(w.accelerators) AS accelerators
FROM open_workload_intervals AS w
LEFT JOIN v_team_cluster_queues AS q ON q.cluster = w.cluster AND q.team = w.team
WHERE w.phase = 'pending'
GROUP BY ALL
ORDER BY ALL;
