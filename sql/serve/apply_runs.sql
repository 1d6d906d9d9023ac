-- Applies in a range (table apply_runs, when it exists): when, which recommendation run,
-- where to, and the outcome.
-- Parameters (NULL: no bound):
--   $since    TIMESTAMP, UTC: applies at or after it
--   $until    TIMESTAMP, UTC: applies before it
--   $cluster  VARCHAR: only this cluster
SELECT apply_id, created_at, run_id, backend, cluster, outcome
FROM apply_runs
WHERE ($since::TIMESTAMP IS NULL OR created_at >= $since::TIMESTAMP)
    AND ($until::TIMESTAMP IS NULL OR created_at < $until::TIMESTAMP)
    AND ($cluster::VARCHAR IS NULL OR cluster = $cluster::VARCHAR)
ORDER BY apply_id;
