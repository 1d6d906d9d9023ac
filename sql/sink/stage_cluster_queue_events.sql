-- The sink's batch of ClusterQueue events, one version per event id (earliest observed, then
-- earliest occurred, then first in the batch).
-- Parameters, one list entry per event: $position INTEGER[] (its place in the batch),
-- $event_id, $schema_version, $cluster, $occurred_at, $observed_at (naive UTC), $event_type,
-- $name, $team, $cohort, $resource_version.
-- Leaves the temporary table staged_cluster_queue_events.
CREATE OR REPLACE TEMP TABLE staged_cluster_queue_events AS
SELECT * FROM (
    SELECT
        unnest($position::INTEGER[]) AS position,
        unnest($event_id::VARCHAR[]) AS event_id,
        unnest($schema_version::INTEGER[]) AS schema_version,
        unnest($cluster::VARCHAR[]) AS cluster,
        unnest($occurred_at::TIMESTAMP[]) AS occurred_at,
        unnest($observed_at::TIMESTAMP[]) AS observed_at,
        unnest($event_type::VARCHAR[]) AS event_type,
        unnest($name::VARCHAR[]) AS name,
        unnest($team::VARCHAR[]) AS team,
        unnest($cohort::VARCHAR[]) AS cohort,
        unnest($resource_version::VARCHAR[]) AS resource_version
)
QUALIFY row_number() OVER (
    PARTITION BY event_id ORDER BY observed_at, occurred_at, position
) = 1;
