-- One overall replay metric of a policy (current or proposed).
-- Parameters (positional): run_id, policy, position, metric, value, whole (an integer).
INSERT INTO recommendation_replay VALUES (?, ?, ?, ?, ?, ?);
