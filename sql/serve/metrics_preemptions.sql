-- Preemptions per cluster, reason, victim team and priority class and preemptor team (''
-- when the preemptor's events were not recorded), since the record began.
SELECT
    cluster,
    reason,
    victim_team AS team,
    coalesce(victim_priority_class, '') AS priority_class,
    coalesce(preemptor_team, '') AS preemptor_team,
    count(*) AS preemptions
FROM v_preemptions
GROUP BY ALL
ORDER BY ALL;
