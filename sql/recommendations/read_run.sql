-- One stored run's inputs and solver result.
-- Parameters (positional): run_id.
SELECT
    run_id, created_at, source_kind, source, cluster, origin, since_s, jobs,
    window_start_s, window_end_s, policy_json, cluster_json, settings_json, status,
    solver_parameters, proposed_policy_json, plan_notes_json
FROM recommendation_runs
WHERE run_id = ?;
