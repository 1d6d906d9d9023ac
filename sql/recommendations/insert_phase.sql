-- One solver phase of a run.
-- Parameters (positional): run_id, position, objective, description, status, value, bound,
-- gap, wall_s.
INSERT INTO recommendation_phases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);
