-- In the in-memory database that reads a lake (the lake's files registered as lake_NAME), each
-- table whose data comes from the lake becomes a view of the same name (lake/view_NAME.sql).
-- The empty table the migrations created is kept aside as shape_NAME, and
-- lake_relation(shape, files) gives the files' rows that table's columns in its order, so no
-- view lists columns: pyarrow appends the partition keys, cluster and day, after the columns
-- stored in the files, and a column a later migration added reads as NULL from older files.
-- The sink's work tables (usage_steps, open_workload_intervals, ...) stay, empty, so every
-- macro of sql/views binds.
-- Parameters: none.
CREATE MACRO lake_relation(shape, files) AS TABLE
FROM query_table(shape)
UNION ALL BY NAME
SELECT COLUMNS(lambda c: c <> 'day') FROM query_table(files);
