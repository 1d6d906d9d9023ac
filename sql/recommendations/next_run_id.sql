-- The id of the next recommendation run (1 for the first).
-- Parameters: none.
SELECT coalesce(max(run_id), 0) + 1 FROM recommendation_runs;
