-- The solver phases of a run, in order.
-- Parameters (positional): run_id.
SELECT objective, description, status, value, bound, gap, wall_s
FROM recommendation_phases
WHERE run_id = ?
ORDER BY position;
