-- The conflicting constraints of a run, in order.
-- Parameters (positional): run_id.
SELECT constraint_name, detail FROM recommendation_conflicts WHERE run_id = ? ORDER BY position;
