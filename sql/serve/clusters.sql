-- What the record holds, per cluster: its first and last minute, teams and instance types
-- (the dashboard's pickers, asked for by every page). Teams and instance types come from the
-- ClusterQueue events (small tables), so only one column of usage_minutes is scanned.
WITH span AS (
    SELECT cluster, min(minute) AS first_minute, max(minute) + INTERVAL 1 MINUTE AS last_minute
    FROM usage_minutes
    GROUP BY cluster
),
teams AS (
    SELECT cluster, list(DISTINCT team ORDER BY team) AS teams
    FROM cluster_queue_events
    GROUP BY cluster
),
types AS (
    SELECT e.cluster, list(DISTINCT q.flavor ORDER BY q.flavor) AS instance_types
    FROM cluster_queue_events AS e
    JOIN cluster_queue_quotas AS q ON q.event_id = e.event_id
    GROUP BY e.cluster
)
SELECT
    s.cluster,
    s.first_minute,
    s.last_minute,
    coalesce(t.teams, []) AS teams,
    coalesce(f.instance_types, []) AS instance_types,
    (SELECT instant FROM aggregate_state WHERE name = 'watermark') AS watermark
FROM span AS s
LEFT JOIN teams AS t ON t.cluster = s.cluster
LEFT JOIN types AS f ON f.cluster = s.cluster
ORDER BY s.cluster;
