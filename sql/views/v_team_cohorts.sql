-- v_team_cohorts: the cohort of a team from each of its ClusterQueue events on (one ClusterQueue
-- per team in HyperPod; with several, the smallest cohort name changed at that instant wins, so
-- the answer never depends on storage order). Join it ASOF on valid_from.
CREATE OR REPLACE VIEW v_team_cohorts AS
SELECT
    cluster,
    team,
    occurred_at AS valid_from,
    min(cohort) AS cohort
FROM cluster_queue_events
GROUP BY cluster, team, occurred_at;
