-- workload_identities_of(events): per Workload in a table of whole Workloads' events, the
-- namespace, name, team and priority class of its latest event (a preemptor's identity).
CREATE OR REPLACE MACRO workload_identities_of(events) AS TABLE
SELECT
    cluster,
    uid,
    arg_max(namespace, {'at': occurred_at, 'id': event_id}) AS namespace,
    arg_max(name, {'at': occurred_at, 'id': event_id}) AS name,
    arg_max(team, {'at': occurred_at, 'id': event_id}) AS team,
    arg_max(priority_class, {'at': occurred_at, 'id': event_id}) AS priority_class
FROM query_table(events)
GROUP BY cluster, uid;

-- preemptions_of(events, preemptors): every 'preempted' event of a table of events, the victim
-- as it was then and its preemptor as a table of identities (workload_identities_of's
-- columns) names it; NULL when it has no row or no known identity. The sink applies it to a
-- batch's events with the preemptors looked up in workload_identities.
CREATE OR REPLACE MACRO preemptions_of(events, preemptors) AS TABLE
SELECT
    p.cluster,
    p.occurred_at AS preempted_at,
    p.reason,
    p.message,
    p.namespace AS victim_namespace,
    p.name AS victim_name,
    p.uid AS victim_uid,
    p.team AS victim_team,
    p.priority_class AS victim_priority_class,
    p.instance_type,
    p.accelerators AS victim_accelerators,
    p.preemptor_uid,
    r.namespace AS preemptor_namespace,
    r.name AS preemptor_name,
    r.team AS preemptor_team,
    r.priority_class AS preemptor_priority_class
FROM query_table(events) AS p
LEFT JOIN query_table(preemptors) AS r ON r.cluster = p.cluster AND r.uid = p.preemptor_uid
WHERE p.event_type = 'preempted';

-- v_preemptor_events: every event of a Workload some 'preempted' event names as preemptor.
CREATE OR REPLACE VIEW v_preemptor_events AS
SELECT e.*
FROM workload_events AS e
SEMI JOIN (
    SELECT cluster, preemptor_uid FROM workload_events WHERE event_type = 'preempted'
) AS p ON p.cluster = e.cluster AND p.preemptor_uid = e.uid;

CREATE OR REPLACE VIEW v_preemptor_identities AS
SELECT * FROM workload_identities_of('v_preemptor_events');

-- v_preemptions: every 'preempted' event, the victim as it was then and its preemptor, whose
-- team and priority class come from the preemptor's own latest event (NULL when the log has
-- none of its events). Derived from the whole log: the sink keeps it materialized as
-- preemption_records, which the reports read.
CREATE OR REPLACE VIEW v_preemptions AS
SELECT * FROM preemptions_of('workload_events', 'v_preemptor_identities');
