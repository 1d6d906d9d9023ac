-- One team's plan in a run: current and proposed quotas, why, and the commands to apply it.
-- Parameters (positional): run_id, position, team, changed, current nominal resources and
-- amounts, proposed nominal resources and amounts, current and proposed borrow limit percent,
-- current and proposed fair-share weight, why (list), aws_cli, kueue_patch.
INSERT INTO recommendation_teams VALUES (
    ?, ?, ?, ?, map(?::VARCHAR[], ?::BIGINT[]), map(?::VARCHAR[], ?::BIGINT[]),
    ?, ?, ?, ?, ?, ?, ?
);
