-- What the pipeline has stored: events per cluster and kind, dead letters per cluster, kind and
-- reason, and the instants the record reaches (the watermark; the latest observed_at).
SELECT 'workload' AS kind, cluster, '' AS reason, count(*) AS records, max(observed_at) AS latest
FROM workload_events
GROUP BY cluster
UNION ALL
SELECT 'cluster_queue', cluster, '', count(*), max(observed_at)
FROM cluster_queue_events
GROUP BY cluster
UNION ALL
SELECT 'dead_letter:' || kind, cluster, reason, count(*), max(observed_at)
FROM dead_letters
GROUP BY ALL
ORDER BY ALL;
