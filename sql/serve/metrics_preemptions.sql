-- Preemptions per cluster, reason, victim team and priority class and preemptor team (''
-- when the preemptor's events were not recorded), since the record began (preemption_records,
-- v_preemptions kept by the sink).
SELECT
    cluster,
    reason,
    victim_team AS team,
    coalesce(victim_priority_class, '') AS priority_class,
    coalesce(preemptor_team, '') AS preemptor_team,
    count(*) AS preemptions
FROM preemption_records
GROUP BY ALL
ORDER BY ALL;
