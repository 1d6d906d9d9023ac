-- The ClusterQueues' quota lines in force at $at (default: the watermark): nominal quota,
-- borrowingLimit and lendingLimit per flavor and resource (NULL limits are unlimited).
-- Parameters:
--   $at       TIMESTAMP, UTC: the instant (default: the watermark)
--   $cluster  VARCHAR: only this cluster
WITH moment AS (
    SELECT coalesce(
        $at::TIMESTAMP, (SELECT instant FROM aggregate_state WHERE name = 'watermark')
    ) AS at
)
SELECT
    q.cluster,
    q.cluster_queue,
    q.team,
    q.cohort,
    q.flavor,
    q.resource,
    q.nominal,
    q.borrowing_limit,
    q.lending_limit
FROM v_quota_history AS q, moment AS m
WHERE q.valid_from <= m.at
    AND (q.valid_to IS NULL OR q.valid_to > m.at)
    AND ($cluster::VARCHAR IS NULL OR q.cluster = $cluster::VARCHAR)
ORDER BY q.cluster, q.cluster_queue, q.flavor, q.resource;
