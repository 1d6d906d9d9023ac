-- workload_intervals read from the lake: its columns in the DuckDB table's order (pyarrow appends the
-- partition keys, cluster and day, after the columns stored in the files).
CREATE OR REPLACE VIEW workload_intervals AS
SELECT
    cluster,
    uid,
    namespace,
    name,
    team,
    local_queue,
    cluster_queue,
    priority,
    priority_class,
    instance_type,
    accelerators,
    cpu_millis,
    memory_bytes,
    phase,
    phase_since,
    start_at,
    end_at,
    event_id,
    event_type,
    reason,
    message,
    cause
FROM lake_workload_intervals;
