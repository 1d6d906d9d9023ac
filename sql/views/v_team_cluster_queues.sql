-- v_team_cluster_queues: per cluster and team, the ClusterQueue of its latest ClusterQueue
-- event that is not a deletion: the one a pending Workload (no ClusterQueue in its status yet)
-- or a team-level metric is labelled with.
CREATE OR REPLACE VIEW v_team_cluster_queues AS
SELECT cluster, team, arg_max(name, occurred_at) AS cluster_queue
FROM cluster_queue_events
WHERE event_type <> 'deleted'
GROUP BY cluster, team;
