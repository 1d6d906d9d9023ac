-- One replay metric of a team, current and proposed.
-- Parameters (positional): run_id, team, position, metric, current value, proposed value.
INSERT INTO recommendation_effects VALUES (?, ?, ?, ?, ?, ?);
