-- workload_events read from the lake: its columns in the DuckDB table's order (pyarrow appends the
-- partition keys, cluster and day, after the columns stored in the files).
CREATE OR REPLACE VIEW workload_events AS
SELECT
    event_id,
    schema_version,
    cluster,
    occurred_at,
    observed_at,
    event_type,
    ordinal,
    inferred,
    namespace,
    name,
    uid,
    team,
    local_queue,
    cluster_queue,
    priority,
    priority_class,
    instance_type,
    requests,
    accelerators,
    cpu_millis,
    memory_bytes,
    reason,
    message,
    preemptor_uid,
    created_at
FROM lake_workload_events;
