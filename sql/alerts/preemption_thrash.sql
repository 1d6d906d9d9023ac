-- Workloads preempted at least $count times in the $window_s seconds up to the watermark:
-- each preemption throws work away, so a workload evicted again and again is thrashing.
-- The condition ends when fewer than $count of its preemptions fall inside the window.
-- Parameters:
--   $count     INTEGER: preemptions that make thrash
--   $window_s  INTEGER: the window, seconds
-- The ClusterQueue is the one in the events, else the team's latest.
WITH moment AS (
    SELECT instant AS at FROM aggregate_state WHERE name = 'watermark'
)
SELECT
    e.cluster,
    e.team,
    coalesce(any_value(e.cluster_queue), any_value(q.cluster_queue), '') AS cluster_queue,
    e.namespace,
    e.name,
    count(*) AS preemptions,
    min(e.occurred_at) AS started_at,
    list(DISTINCT e.reason ORDER BY e.reason) AS reasons
FROM workload_events AS e
CROSS JOIN moment AS m
LEFT JOIN v_team_cluster_queues AS q ON q.cluster = e.cluster AND q.team = e.team
WHERE e.event_type = 'preempted'
    AND e.occurred_at > m.at - to_seconds($window_s::BIGINT)
    AND e.occurred_at <= m.at
GROUP BY e.cluster, e.team, e.namespace, e.name, e.uid
HAVING count(*) >= $count::INTEGER
ORDER BY e.cluster, e.namespace, e.name;
