-- Stores one recommendation run's inputs and solver result (see 003_recommendations.sql).
-- Parameters: $run_id, $created_at, $kind, $location, $cluster, $origin, $since_s, $jobs,
-- $window_start_s, $window_end_s, $policy_name, $policy, $cluster_spec, $settings, $status,
-- $solver_parameters, $proposed (the JSON columns as text).
INSERT INTO recommendation_runs VALUES (
    $run_id, $created_at, $kind, $location, $cluster, $origin, $since_s, $jobs,
    $window_start_s, $window_end_s, $policy_name, $policy, $cluster_spec, $settings,
    $status, $solver_parameters, $proposed
);
