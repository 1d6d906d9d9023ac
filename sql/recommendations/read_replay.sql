-- The overall replay metrics of a run, in order.
-- Parameters (positional): run_id.
SELECT policy, metric, value, whole FROM recommendation_replay WHERE run_id = ? ORDER BY position;
