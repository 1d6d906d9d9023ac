-- In the in-memory database that reads a lake: drops the (empty) tables the migrations created
-- whose data comes from the lake instead, so views of the same names can take their place.
-- The sink's work tables (usage_steps, open_workload_intervals, ...) stay, empty, so every macro
-- of sql/views binds.
-- Parameters: none.
DROP TABLE workload_events;
DROP TABLE cluster_queue_events;
DROP TABLE cluster_queue_quotas;
DROP TABLE workload_intervals;
DROP TABLE workload_waits;
DROP TABLE usage_minutes;
DROP TABLE aggregate_state;
