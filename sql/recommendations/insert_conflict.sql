-- One conflicting constraint of an infeasible run.
-- Parameters (positional): run_id, position, constraint name, detail.
INSERT INTO recommendation_conflicts VALUES (?, ?, ?, ?);
