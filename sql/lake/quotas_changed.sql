-- Whether a ClusterQueue event at or after $since was stored (its quota lines are rewritten).
-- Parameters: $since TIMESTAMP.
SELECT EXISTS (SELECT 1 FROM cluster_queue_events WHERE occurred_at >= $since::TIMESTAMP);
