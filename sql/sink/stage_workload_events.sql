-- The sink's batch of Workload events, parsed by DuckDB from each event's JSON.
-- Parameters: $events VARCHAR[]: WorkloadEvent.model_dump_json() of every event of the batch
-- (one string per event is all that crosses from Python, and DuckDB parses it without the GIL).
-- Leaves the temporary table staged_workload_events, in the column order of workload_events;
-- an id sent twice in the batch is left twice (dedupe_staged_workload_events.sql keeps one).
CREATE OR REPLACE TEMP TABLE staged_workload_events AS
WITH parsed AS (
    SELECT from_json(doc, '{
        "event_id": "VARCHAR", "schema_version": "INTEGER", "cluster": "VARCHAR",
        "occurred_at": "VARCHAR", "observed_at": "VARCHAR", "event_type": "VARCHAR",
        "ordinal": "INTEGER", "inferred": "BOOLEAN", "namespace": "VARCHAR", "name": "VARCHAR",
        "uid": "VARCHAR", "team": "VARCHAR", "local_queue": "VARCHAR",
        "cluster_queue": "VARCHAR", "priority": "INTEGER", "priority_class": "VARCHAR",
        "instance_type": "VARCHAR", "requests": "MAP(VARCHAR, BIGINT)",
        "accelerators": "BIGINT", "reason": "VARCHAR", "message": "VARCHAR",
        "preemptor_uid": "VARCHAR", "created_at": "VARCHAR"
    }') AS e
    FROM (SELECT unnest($events::VARCHAR[]) AS doc)
)
SELECT
    e.event_id,
    e.schema_version,
    e.cluster,
    utc_from_text(e.occurred_at) AS occurred_at,
    utc_from_text(e.observed_at) AS observed_at,
    e.event_type,
    e.ordinal,
    e.inferred,
    e.namespace,
    e.name,
    e.uid,
    e.team,
    e.local_queue,
    e.cluster_queue,
    e.priority,
    e.priority_class,
    e.instance_type,
    map_from_entries(list_sort(map_entries(e.requests))) AS requests,
    e.accelerators,
    coalesce(e.requests['cpu'], 0) AS cpu_millis,
    coalesce(e.requests['memory'], 0) AS memory_bytes,
    e.reason,
    e.message,
    e.preemptor_uid,
    utc_from_text(e.created_at) AS created_at
FROM parsed;
