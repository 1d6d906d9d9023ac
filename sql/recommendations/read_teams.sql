-- The per-team plans of a run, in order.
-- Parameters (positional): run_id.
SELECT
    team, changed, current_nominal, proposed_nominal, current_borrow_limit_pct,
    proposed_borrow_limit_pct, current_fair_share_weight, proposed_fair_share_weight,
    why, aws_cli, kueue_patch
FROM recommendation_teams
WHERE run_id = ?
ORDER BY position;
