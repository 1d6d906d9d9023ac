-- Preemptions by reason, preemptor team and priority class → victim team and priority class.
-- One row per combination; reason is Kueue's Preempted condition reason (InClusterQueue,
-- InCohortReclamation, InCohortFairSharing, InCohortReclaimWhileBorrowing). The preemptor's
-- team comes from its own events (NULL when none were recorded). victim_gpus sums the
-- accelerators the victims held. Reads preemption_records (v_preemptions, kept by the sink),
-- whose rows are in time order, so a range reads only its row groups.
-- Parameters (NULL: no bound):
--   $since  TIMESTAMP, UTC: preemptions at or after it
--   $until  TIMESTAMP, UTC: preemptions before it
--   $team   VARCHAR: only preemptions where this team is the victim or the preemptor
SELECT
    reason,
    preemptor_team,
    preemptor_priority_class,
    victim_team,
    victim_priority_class,
    count(*) AS preemptions,
    sum(victim_accelerators) AS victim_gpus
FROM preemption_records
WHERE preempted_at >= coalesce($since::TIMESTAMP, TIMESTAMP '-infinity')
    AND preempted_at < coalesce($until::TIMESTAMP, TIMESTAMP 'infinity')
    AND ($team::VARCHAR IS NULL OR victim_team = $team::VARCHAR OR preemptor_team = $team::VARCHAR)
GROUP BY ALL
ORDER BY preemptions DESC, reason NULLS LAST, preemptor_team NULLS LAST,
    preemptor_priority_class NULLS LAST, victim_team, victim_priority_class NULLS LAST;
