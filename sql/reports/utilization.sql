-- GPU-hours per day, team and instance type: guaranteed, used, allocated, borrowed, lent, idle.
-- Like the summary report of HyperPod task governance: allocated is used within the team's
-- guarantee (nominal quota), borrowed is used above it; lent is the team's unused guarantee
-- that others in its cohort borrowed, idle is the rest (see usage_minutes_from_steps).
-- Parameters (NULL: no bound):
--   $since  TIMESTAMP, UTC: first minute counted (inclusive)
--   $until  TIMESTAMP, UTC: end of the range (exclusive)
--   $team   VARCHAR: only this team
SELECT
    CAST(minute AS DATE) AS day,
    team,
    instance_type,
    round(sum(nominal_accelerators) / 60, 3) AS guaranteed_gpu_hours,
    round(sum(used_accelerators) / 60, 3) AS used_gpu_hours,
    round(sum(used_accelerators - borrowed_accelerators) / 60, 3) AS allocated_gpu_hours,
    round(sum(borrowed_accelerators) / 60, 3) AS borrowed_gpu_hours,
    round(sum(lent_accelerators) / 60, 3) AS lent_gpu_hours,
    round(sum(idle_accelerators) / 60, 3) AS idle_gpu_hours,
    round(
        100 * sum(used_accelerators - borrowed_accelerators)
            / nullif(sum(nominal_accelerators), 0),
        1
    ) AS guarantee_used_pct
FROM usage_minutes_in($since::TIMESTAMP, $until::TIMESTAMP, $team::VARCHAR)
GROUP BY ALL
HAVING sum(nominal_accelerators) <> 0 OR sum(used_accelerators) <> 0
ORDER BY day, team, instance_type;
