-- Brings workload_identities up to date for the Workloads a batch touched (all their events
-- are in touched_workload_events, see refresh_some_workloads.sql), through the primary key's
-- index. A row changes only when its identity does; the changed rows of Workloads already
-- named as preemptors go to renamed_preemptors, whose preemption_records must follow.
-- Parameters: none.
CREATE OR REPLACE TEMP TABLE renamed_preemptors AS
WITH upserted AS (
    INSERT INTO workload_identities
    SELECT cluster, uid, namespace, name, team, priority_class, true, false
    FROM workload_identities_of('touched_workload_events')
    ON CONFLICT (cluster, uid) DO UPDATE SET
        namespace = excluded.namespace,
        name = excluded.name,
        team = excluded.team,
        priority_class = excluded.priority_class,
        has_events = true
    WHERE NOT workload_identities.has_events
        OR workload_identities.namespace IS DISTINCT FROM excluded.namespace
        OR workload_identities.name IS DISTINCT FROM excluded.name
        OR workload_identities.team IS DISTINCT FROM excluded.team
        OR workload_identities.priority_class IS DISTINCT FROM excluded.priority_class
    RETURNING *
)
SELECT * FROM upserted WHERE named_as_preemptor;
