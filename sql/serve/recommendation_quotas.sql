-- A recommendation run's plan per team and instance type: the nominal instances today and
-- proposed, and the team's BorrowLimit and FairShareWeight today and proposed.
-- Parameters:
--   $run_id  INTEGER: the run (default: the latest)
WITH run AS (
    SELECT coalesce($run_id::INTEGER, max(run_id)) AS run_id FROM recommendation_runs
)
SELECT
    t.run_id,
    t.team,
    k.instance_type,
    coalesce(t.current_nominal[k.instance_type], 0) AS current_instances,
    coalesce(t.proposed_nominal[k.instance_type], 0) AS proposed_instances,
    t.current_borrow_limit_pct,
    t.proposed_borrow_limit_pct,
    t.current_fair_share_weight,
    t.proposed_fair_share_weight,
    t.changed
FROM recommendation_teams AS t
JOIN run AS r ON r.run_id = t.run_id,
    (
        SELECT DISTINCT unnest(map_keys(current_nominal) || map_keys(proposed_nominal))
            AS instance_type, run_id, team
        FROM recommendation_teams
    ) AS k
WHERE k.run_id = t.run_id AND k.team = t.team
ORDER BY t.team, k.instance_type;
