-- assert_quota_lines_valid: ClusterQueue quota lines Kueue would reject, and orphans.
--   negative quota        nominal, borrowingLimit or lendingLimit below zero
--   lending above nominal lendingLimit > nominal (Kueue requires lendingLimit <= nominal)
--   orphan line           a line whose ClusterQueue event is not stored
--   lines on a deletion   a 'deleted' event carrying lines
SELECT
    CASE
        WHEN e.event_id IS NULL THEN 'orphan line'
        WHEN e.event_type = 'deleted' THEN 'lines on a deletion'
        WHEN least(q.nominal, q.borrowing_limit, q.lending_limit) < 0 THEN 'negative quota'
        ELSE 'lending above nominal'
    END AS problem,
    q.event_id,
    e.name AS cluster_queue,
    q.flavor,
    q.resource,
    q.nominal,
    q.borrowing_limit,
    q.lending_limit
FROM cluster_queue_quotas AS q
LEFT JOIN cluster_queue_events AS e ON e.event_id = q.event_id
WHERE e.event_id IS NULL
    OR e.event_type = 'deleted'
    OR least(q.nominal, q.borrowing_limit, q.lending_limit) < 0
    OR q.lending_limit > q.nominal
ORDER BY problem, cluster_queue, q.flavor, q.resource;
