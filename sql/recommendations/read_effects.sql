-- The per-team replay metrics of a run, in order.
-- Parameters (positional): run_id.
SELECT team, metric, current_value, proposed_value
FROM recommendation_effects
WHERE run_id = ?
ORDER BY position;
