-- A recommendation run's what-if replay per team and metric: the value under today's policy,
-- under the proposal, the change, and the spread of that change over every stored run
-- (lowest and highest), so one run's delta can be read against the others.
-- Parameters:
--   $run_id  INTEGER: the run (default: the latest)
WITH run AS (
    SELECT coalesce($run_id::INTEGER, max(run_id)) AS run_id FROM recommendation_runs
),
spread AS (
    SELECT
        team,
        metric,
        min(proposed_value - current_value) AS delta_low,
        max(proposed_value - current_value) AS delta_high,
        count(*) AS runs
    FROM recommendation_effects
    GROUP BY team, metric
)
SELECT
    e.run_id,
    e.team,
    e.metric,
    e.current_value,
    e.proposed_value,
    e.proposed_value - e.current_value AS delta,
    s.delta_low,
    s.delta_high,
    s.runs
FROM recommendation_effects AS e
JOIN run AS r ON r.run_id = e.run_id
JOIN spread AS s ON s.team = e.team AND s.metric = e.metric
ORDER BY e.team, e.position;
