-- The quota lines of the batch's ClusterQueue events.
-- Parameters, one list entry per line: $position INTEGER[] (its event's place in the batch),
-- $event_id, $flavor, $resource, $nominal, $borrowing_limit, $lending_limit (NULL: none).
-- Leaves the temporary table staged_cluster_queue_quotas.
CREATE OR REPLACE TEMP TABLE staged_cluster_queue_quotas AS
SELECT
    unnest($position::INTEGER[]) AS position,
    unnest($event_id::VARCHAR[]) AS event_id,
    unnest($flavor::VARCHAR[]) AS flavor,
    unnest($resource::VARCHAR[]) AS resource,
    unnest($nominal::BIGINT[]) AS nominal,
    unnest($borrowing_limit::BIGINT[]) AS borrowing_limit,
    unnest($lending_limit::BIGINT[]) AS lending_limit;
