-- workload_waits read from the lake: its columns in the DuckDB table's order (pyarrow appends the
-- partition keys, cluster and day, after the columns stored in the files).
CREATE OR REPLACE VIEW workload_waits AS
SELECT
    cluster,
    uid,
    namespace,
    name,
    team,
    priority_class,
    wait_kind,
    started_at,
    outcome,
    admitted_at,
    wait_s
FROM lake_workload_waits;
