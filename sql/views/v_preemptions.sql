-- v_preemptions: every 'preempted' event, the victim as it was then and its preemptor, whose
-- team and priority class come from the preemptor's own latest event (NULL when the log has
-- none of its events). Preemptions are few and this is one hash join, so it stays a view.
CREATE OR REPLACE VIEW v_preemptions AS
WITH preempted AS (
    SELECT * FROM workload_events WHERE event_type = 'preempted'
),
preemptors AS (
    SELECT
        e.cluster,
        e.uid,
        arg_max(e.namespace, {'at': e.occurred_at, 'id': e.event_id}) AS namespace,
        arg_max(e.name, {'at': e.occurred_at, 'id': e.event_id}) AS name,
        arg_max(e.team, {'at': e.occurred_at, 'id': e.event_id}) AS team,
        arg_max(e.priority_class, {'at': e.occurred_at, 'id': e.event_id}) AS priority_class
    FROM workload_events AS e
    SEMI JOIN preempted AS p ON p.cluster = e.cluster AND p.preemptor_uid = e.uid
    GROUP BY e.cluster, e.uid
)
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
FROM preempted AS p
LEFT JOIN preemptors AS r ON r.cluster = p.cluster AND r.uid = p.preemptor_uid;
