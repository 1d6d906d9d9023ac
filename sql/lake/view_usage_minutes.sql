-- usage_minutes read from the lake: its columns in the DuckDB table's order (pyarrow appends the
-- partition keys, cluster and day, after the columns stored in the files).
CREATE OR REPLACE VIEW usage_minutes AS
SELECT
    cluster,
    cohort,
    team,
    instance_type,
    minute,
    nominal_accelerators,
    used_accelerators,
    borrowed_accelerators,
    lent_accelerators,
    idle_accelerators,
    pending_accelerators,
    nominal_cpu_millis,
    used_cpu_millis,
    borrowed_cpu_millis,
    lent_cpu_millis,
    idle_cpu_millis,
    pending_cpu_millis,
    nominal_memory_bytes,
    used_memory_bytes,
    borrowed_memory_bytes,
    lent_memory_bytes,
    idle_memory_bytes,
    pending_memory_bytes
FROM lake_usage_minutes;
