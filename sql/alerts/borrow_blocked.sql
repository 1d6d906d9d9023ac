-- Workloads pending at the watermark only because of their ClusterQueue's borrowingLimit:
-- they request more accelerators than nominal + borrowingLimit of a flavor (Kueue's "maximum
-- capacity", so they can never be admitted as configured) while the cohort has at least that
-- many idle accelerators of the flavor in the last minute. One row per Workload, for the
-- flavor with the most idle capacity. Pending at the watermark is open (open_workload_intervals).
WITH last AS (
    SELECT cluster, max(minute) AS minute FROM usage_minutes GROUP BY cluster
),
idle AS (
    SELECT u.cluster, u.cohort, u.instance_type, sum(u.idle_accelerators) AS idle
    FROM usage_minutes AS u
    JOIN last AS l ON l.cluster = u.cluster AND l.minute = u.minute
    WHERE u.instance_type IS NOT NULL
    GROUP BY ALL
),
quota AS (
    SELECT cluster, cluster_queue, team, cohort, flavor, nominal, borrowing_limit
    FROM v_quota_history
    WHERE valid_to IS NULL
        AND resource IN ('nvidia.com/gpu', 'aws.amazon.com/neurondevice')
        AND borrowing_limit IS NOT NULL
)
SELECT
    w.cluster,
    w.team,
    q.cluster_queue,
    q.flavor AS instance_type,
    coalesce(w.priority_class, '') AS priority_class,
    w.namespace,
    w.name,
    w.accelerators,
    q.nominal,
    q.borrowing_limit,
    i.idle AS cohort_idle,
    w.phase_since AS started_at
FROM open_workload_intervals AS w
JOIN quota AS q ON q.cluster = w.cluster AND q.team = w.team
JOIN idle AS i ON i.cluster = q.cluster AND i.cohort = q.cohort AND i.instance_type = q.flavor
WHERE w.phase = 'pending'
    AND (w.instance_type IS NULL OR w.instance_type = q.flavor)
    AND w.accelerators > q.nominal + q.borrowing_limit
    AND i.idle >= w.accelerators
QUALIFY row_number() OVER (PARTITION BY w.cluster, w.uid ORDER BY i.idle DESC, q.flavor) = 1
ORDER BY w.cluster, w.namespace, w.name;
