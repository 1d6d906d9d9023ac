-- The demand and model evidence of a run, one number a row.
-- Parameters: $run_id, and one list entry per number: $basis, $team, $instance_type, $metric,
-- $value.
INSERT INTO recommendation_evidence
SELECT
    $run_id,
    unnest($basis::VARCHAR[]),
    unnest($team::VARCHAR[]),
    unnest($instance_type::VARCHAR[]),
    unnest($metric::VARCHAR[]),
    unnest($value::DOUBLE[]);
