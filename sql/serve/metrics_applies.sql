-- Applies of recommendations (`taskgov apply`, table apply_runs, when it exists) per
-- cluster, backend and outcome: how many, and the latest one's id and time.
SELECT
    cluster,
    backend,
    outcome,
    count(*) AS applies,
    max(created_at) AS latest_at,
    arg_max(apply_id, created_at) AS latest_apply_id
FROM apply_runs
GROUP BY ALL
ORDER BY ALL;
