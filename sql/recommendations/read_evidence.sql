-- The evidence of a run, in its stored order.
-- Parameters (positional): run_id.
SELECT basis, team, instance_type, metric, value
FROM recommendation_evidence
WHERE run_id = ?
ORDER BY basis, team, instance_type, metric;
