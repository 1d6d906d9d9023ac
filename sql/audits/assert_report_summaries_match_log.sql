-- assert_report_summaries_match_log: where the report summaries the sink keeps (schema 009)
-- disagree with what the log derives, exactly (missing: derived but not stored; extra: stored
-- but not derived):
--   preemption_records   v_preemptions;
--   workload_identities  workload_identities_of(the log), and which Workloads are named as
--                        preemptors;
--   pending_cause_parts  pending_cause_parts_of(workload_intervals) up to the watermark's day;
--   pending_cause_days   pending_cause_parts summed per day, team and cause;
--   starved_minutes      starved_minutes_from(usage_minutes).
WITH through AS (
    SELECT date_trunc('day', instant) AS day FROM aggregate_state WHERE name = 'watermark'
),
derived_parts AS (
    SELECT * FROM pending_cause_parts_of(
        'workload_intervals', '-infinity', (SELECT day FROM through)
    )
),
derived_days AS (
    SELECT day, team, cause, count(*) AS workloads, sum(pending_ms) AS pending_ms,
        sum(pending_gpu_ms) AS pending_gpu_ms
    FROM pending_cause_parts
    GROUP BY day, team, cause
),
named AS (
    SELECT DISTINCT cluster, preemptor_uid AS uid
    FROM workload_events
    WHERE event_type = 'preempted' AND preemptor_uid IS NOT NULL
),
derived_starved_minutes AS (SELECT * FROM starved_minutes_from(NULL)),
derived_identities AS (
    SELECT
        coalesce(i.cluster, n.cluster) AS cluster,
        coalesce(i.uid, n.uid) AS uid,
        i.namespace,
        i.name,
        i.team,
        i.priority_class,
        i.uid IS NOT NULL AS has_events,
        n.uid IS NOT NULL AS named_as_preemptor
    FROM workload_identities_of('workload_events') AS i
    FULL JOIN named AS n ON n.cluster = i.cluster AND n.uid = i.uid
)
SELECT 'preemption_records' AS summary_table, problem, victim_uid AS subject
FROM multiset_differences('v_preemptions', 'preemption_records')
UNION ALL
SELECT 'workload_identities', problem, uid
FROM multiset_differences('derived_identities', 'workload_identities')
UNION ALL
SELECT 'pending_cause_parts', problem, uid
FROM multiset_differences('derived_parts', 'pending_cause_parts')
UNION ALL
SELECT 'pending_cause_days', problem, team
FROM multiset_differences('derived_days', 'pending_cause_days')
UNION ALL
SELECT 'starved_minutes', problem, team
FROM multiset_differences('derived_starved_minutes', 'starved_minutes')
ORDER BY summary_table, problem, subject;
