-- Recommendation runs per status, and the latest run: its id, status and when it was made.
SELECT
    status,
    count(*) AS runs,
    max(created_at) AS latest_at,
    arg_max(run_id, created_at) AS latest_run_id
FROM recommendation_runs
GROUP BY status
ORDER BY status;
