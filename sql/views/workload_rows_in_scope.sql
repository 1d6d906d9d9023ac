-- workload_rows_in_scope(workload_rows, workloads, whole): the rows of workload_rows (a table,
-- view or CTE with cluster and uid) of the Workloads in workloads (cluster, uid), or every row
-- when whole. The incremental audit of the aggregates reads the log and the aggregates through
-- it. The two cases are two branches, so a whole audit reads each row without testing it (the
-- audit used to test `whole OR EXISTS (a changed Workload)` on every row), and a scoped one is a
-- hash semi-join on the changed Workloads; whole is one value, so the branch it turns off reads
-- no row.
CREATE OR REPLACE MACRO workload_rows_in_scope(workload_rows, workloads, whole) AS TABLE
SELECT * FROM query_table(workload_rows) WHERE whole
UNION ALL
SELECT r.*
FROM query_table(workload_rows) AS r
SEMI JOIN (SELECT * FROM query_table(workloads) WHERE NOT whole) AS c
    ON c.cluster = r.cluster AND c.uid = r.uid;
