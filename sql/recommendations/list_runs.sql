-- Every stored run, oldest first, with how many teams it would change.
-- Parameters: none.
SELECT
    r.run_id, r.created_at, r.source_kind, r.source, r.cluster, r.origin, r.since_s,
    r.jobs, r.status, count(t.team) FILTER (WHERE t.changed)
FROM recommendation_runs AS r
LEFT JOIN recommendation_teams AS t USING (run_id)
GROUP BY ALL
ORDER BY r.run_id;
