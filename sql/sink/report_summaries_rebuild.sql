-- Rebuilds the report summaries whole (workload_identities, preemption_records,
-- pending_cause_parts, pending_cause_days, starved_minutes) from the log, workload_intervals
-- and usage_minutes, in time
-- order, as the sink appends them later.
-- Parameters: $through TIMESTAMP: the watermark's day (parts are kept for days before it).
DELETE FROM workload_identities;
INSERT INTO workload_identities
SELECT cluster, uid, namespace, name, team, priority_class, true, false
FROM workload_identities_of('workload_events');
INSERT INTO workload_identities
SELECT DISTINCT cluster, preemptor_uid, NULL, NULL, NULL, NULL, false, true
FROM workload_events
WHERE event_type = 'preempted' AND preemptor_uid IS NOT NULL
ON CONFLICT (cluster, uid) DO UPDATE SET named_as_preemptor = true;

DELETE FROM preemption_records;
INSERT INTO preemption_records SELECT * FROM v_preemptions ORDER BY preempted_at;

DELETE FROM pending_cause_parts;
INSERT INTO pending_cause_parts
SELECT * FROM pending_cause_parts_of('workload_intervals', '-infinity', $through)
ORDER BY day;

DELETE FROM pending_cause_days;
INSERT INTO pending_cause_days
SELECT day, team, cause, count(*), sum(pending_ms), sum(pending_gpu_ms)
FROM pending_cause_parts
GROUP BY day, team, cause;

DELETE FROM starved_minutes;
INSERT INTO starved_minutes SELECT * FROM starved_minutes_from(NULL) ORDER BY minute;
