-- What the record holds, per cluster: its first and last minute, teams and instance types
-- (the dashboard's pickers). The watermark is the instant the aggregates are built to.
SELECT
    cluster,
    min(minute) AS first_minute,
    max(minute) + INTERVAL 1 MINUTE AS last_minute,
    list(DISTINCT team ORDER BY team) AS teams,
    list(DISTINCT instance_type ORDER BY instance_type) FILTER (
        WHERE instance_type IS NOT NULL
    ) AS instance_types,
    (SELECT instant FROM aggregate_state WHERE name = 'watermark') AS watermark
FROM usage_minutes
GROUP BY cluster
ORDER BY cluster;
