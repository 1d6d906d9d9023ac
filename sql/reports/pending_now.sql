-- Workloads pending now (or at $until), with why: the cause parsed from Kueue's message.
-- "Now" is the latest event in the log unless $until says otherwise. pending_s counts from
-- the start of the Workload's current pending stretch (its creation, or its last eviction).
-- Causes: waiting_for_quota, exceeds_max_quota, no_matching_flavor, waiting_for_preemption,
-- inactive_queue, other (see pending_cause).
-- Parameters (NULL: no bound):
--   $since  TIMESTAMP, UTC: only Workloads pending since this instant or later
--   $until  TIMESTAMP, UTC: the instant to look at (default: the latest event)
--   $team   VARCHAR: only this team
WITH moment AS (
    SELECT coalesce(
        $until::TIMESTAMP,
        (SELECT instant FROM aggregate_state WHERE name = 'watermark')
    ) AS at
)
SELECT
    w.team,
    w.namespace,
    w.name,
    w.priority_class,
    w.priority,
    w.instance_type,
    w.accelerators AS gpus,
    w.phase_since AS pending_since,
    date_diff('second', w.phase_since, a.at) AS pending_s,
    w.cause,
    w.message
FROM (
    -- At the watermark, what is pending is what is open: the sink keeps those apart, so the
    -- history is not read.
    SELECT * FROM open_workload_intervals WHERE $until::TIMESTAMP IS NULL
    UNION ALL
    SELECT * FROM workload_intervals AS i
    WHERE $until::TIMESTAMP IS NOT NULL
        AND i.start_at <= $until::TIMESTAMP
        AND (i.end_at IS NULL OR i.end_at > $until::TIMESTAMP)
) AS w, moment AS a
WHERE w.phase = 'pending'
    AND ($since::TIMESTAMP IS NULL OR w.phase_since >= $since::TIMESTAMP)
    AND ($team::VARCHAR IS NULL OR w.team = $team::VARCHAR)
ORDER BY w.team, w.phase_since, w.namespace, w.name;
