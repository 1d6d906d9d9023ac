-- Preemptions by reason, preemptor team and priority class → victim team and priority class.
-- One row per combination; reason is Kueue's Preempted condition reason (InClusterQueue,
-- InCohortReclamation, InCohortFairSharing, InCohortReclaimWhileBorrowing). The preemptor's
-- team comes from its own events (NULL when none were recorded). victim_gpus sums the
-- accelerators the victims held.
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
FROM v_preemptions
WHERE ($since::TIMESTAMP IS NULL OR preempted_at >= $since::TIMESTAMP)
    AND ($until::TIMESTAMP IS NULL OR preempted_at < $until::TIMESTAMP)
    AND ($team::VARCHAR IS NULL OR victim_team = $team::VARCHAR OR preemptor_team = $team::VARCHAR)
GROUP BY ALL
ORDER BY preemptions DESC, reason NULLS LAST, preemptor_team NULLS LAST,
    preemptor_priority_class NULLS LAST, victim_team, victim_priority_class NULLS LAST;
