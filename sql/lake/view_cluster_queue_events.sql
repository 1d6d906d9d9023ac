-- cluster_queue_events read from the lake: its columns in the DuckDB table's order (pyarrow appends the
-- partition keys, cluster and day, after the columns stored in the files).
CREATE OR REPLACE VIEW cluster_queue_events AS
SELECT
    event_id,
    schema_version,
    cluster,
    occurred_at,
    observed_at,
    event_type,
    name,
    team,
    cohort,
    resource_version
FROM lake_cluster_queue_events;
