-- Accelerators per cluster, team, ClusterQueue and instance type in the last recorded minute
-- (the one holding the watermark): guaranteed (nominal), used, borrowed, lent, idle, pending,
-- time-averaged over that minute. The ClusterQueue is the team's latest. Read at each scrape
-- of /metrics.
WITH last AS (
    SELECT cluster, max(minute) AS minute FROM usage_minutes GROUP BY cluster
)
SELECT
    u.cluster,
    u.team,
    coalesce(q.cluster_queue, '') AS cluster_queue,
    u.instance_type,
    sum(u.nominal_accelerators) AS guaranteed,
    sum(u.used_accelerators) AS used,
    sum(u.borrowed_accelerators) AS borrowed,
    sum(u.lent_accelerators) AS lent,
    sum(u.idle_accelerators) AS idle,
    sum(u.pending_accelerators) AS pending
FROM usage_minutes AS u
JOIN last AS l ON l.cluster = u.cluster AND l.minute = u.minute
LEFT JOIN v_team_cluster_queues AS q ON q.cluster = u.cluster AND q.team = u.team
WHERE u.instance_type IS NOT NULL
GROUP BY ALL
ORDER BY ALL;
