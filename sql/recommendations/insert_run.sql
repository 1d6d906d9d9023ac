-- Stores one recommendation run's inputs and solver result (see 003_recommendations.sql).
-- Parameters: $run_id, $created_at, $kind, $location, $cluster, $origin, $since_s, $jobs,
-- $window_start_s, $window_end_s, $policy_name, $policy, $cluster_spec, $settings, $status,
-- $solver_parameters, $proposed, $plan_notes (the JSON columns as text).
INSERT INTO recommendation_runs (
    run_id, created_at, source_kind, source, cluster, origin, since_s, jobs,
    window_start_s, window_end_s, policy_name, policy_json, cluster_json, settings_json,
    status, solver_parameters, proposed_policy_json, plan_notes_json
) VALUES (
    $run_id, $created_at, $kind, $location, $cluster, $origin, $since_s, $jobs,
    $window_start_s, $window_end_s, $policy_name, $policy, $cluster_spec, $settings,
    $status, $solver_parameters, $proposed, $plan_notes
);
