-- Recommendation runs in a range: when, from what, how the solver ended, how many teams change.
-- Parameters (NULL: no bound):
--   $since    TIMESTAMP, UTC: runs made at or after it
--   $until    TIMESTAMP, UTC: runs made before it
--   $cluster  VARCHAR: only runs over this cluster's record
SELECT
    r.run_id,
    r.created_at,
    r.cluster,
    r.policy_name,
    r.status,
    r.jobs,
    (SELECT count(*) FROM recommendation_teams AS t WHERE t.run_id = r.run_id AND t.changed)
        AS teams_changed
FROM recommendation_runs AS r
WHERE ($since::TIMESTAMP IS NULL OR r.created_at >= $since::TIMESTAMP)
    AND ($until::TIMESTAMP IS NULL OR r.created_at < $until::TIMESTAMP)
    AND ($cluster::VARCHAR IS NULL OR r.cluster IS NULL OR r.cluster = $cluster::VARCHAR)
ORDER BY r.run_id;
