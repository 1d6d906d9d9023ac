-- assert_workload_events_consistent: Workload events that contradict each other or the schema.
--   duplicate transition  one (cluster, uid, type, ordinal) stored under two event ids
--   missing transition    ordinal n of a type stored without ordinal n - 1
--   negative amount       accelerators, cpu or memory below zero
--   identity changed      one uid under two teams or names
WITH per_transition AS (
    SELECT
        cluster,
        uid,
        event_type,
        ordinal,
        count(*) AS copies,
        min(event_id) AS event_id,
        min(occurred_at) AS occurred_at
    FROM workload_events
    GROUP BY cluster, uid, event_type, ordinal
)
SELECT 'duplicate transition' AS problem, cluster, uid, event_type, ordinal, event_id, occurred_at
FROM per_transition
WHERE copies > 1
UNION ALL
SELECT 'missing transition', t.cluster, t.uid, t.event_type, t.ordinal, t.event_id, t.occurred_at
FROM per_transition AS t
WHERE t.ordinal > 1
    AND NOT EXISTS (
        SELECT 1 FROM per_transition AS p
        WHERE p.cluster = t.cluster AND p.uid = t.uid AND p.event_type = t.event_type
            AND p.ordinal = t.ordinal - 1
    )
UNION ALL
SELECT 'negative amount', cluster, uid, event_type, ordinal, event_id, occurred_at
FROM workload_events
WHERE least(accelerators, cpu_millis, memory_bytes) < 0
UNION ALL
SELECT 'identity changed', cluster, uid, NULL, NULL, NULL, min(occurred_at)
FROM workload_events
GROUP BY cluster, uid
HAVING count(DISTINCT team) > 1 OR count(DISTINCT namespace || '/' || name) > 1
ORDER BY problem, cluster, uid, event_type, ordinal;
