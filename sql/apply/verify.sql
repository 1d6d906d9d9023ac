-- Did an apply work? Per team, the same measures over the window before the change and the
-- window after it (equally long, cut at the watermark): waits that started in the window
-- (p50/p95 seconds over those admitted), starved minutes (pending demand while under the
-- guarantee), preemptions suffered, and used / guaranteed accelerator-hours.
-- Parameters:
--   $before_start TIMESTAMP, UTC: start of the window before the change
--   $at           TIMESTAMP, UTC: the change
--   $after_end    TIMESTAMP, UTC: end of the window after it
WITH windows AS (
    SELECT 'before' AS side, $before_start::TIMESTAMP AS lo, $at::TIMESTAMP AS hi
    UNION ALL
    SELECT 'after', $at::TIMESTAMP, $after_end::TIMESTAMP
),
waits AS (
    SELECT w.side, x.team,
        quantile_disc(x.wait_s, 0.50) AS wait_p50_s,
        quantile_disc(x.wait_s, 0.95) AS wait_p95_s,
        count(*) AS waits
    FROM windows AS w
    JOIN workload_waits AS x ON x.started_at >= w.lo AND x.started_at < w.hi
    GROUP BY ALL
),
minutes AS (
    SELECT w.side, u.team, u.minute,
        sum(u.nominal_accelerators) AS nominal,
        sum(u.used_accelerators) AS used,
        sum(u.pending_accelerators) AS pending
    FROM windows AS w
    JOIN usage_minutes AS u ON u.minute >= w.lo AND u.minute < w.hi
    WHERE u.instance_type IS NOT NULL
    GROUP BY ALL
),
usage AS (
    SELECT side, team,
        count(*) FILTER (WHERE pending > 0 AND used < nominal) AS starved_minutes,
        round(sum(used) / 60, 3) AS used_gpu_hours,
        round(sum(nominal) / 60, 3) AS guaranteed_gpu_hours
    FROM minutes
    GROUP BY ALL
),
preempted AS (
    SELECT w.side, p.victim_team AS team, count(*) AS preemptions
    FROM windows AS w
    JOIN v_preemptions AS p ON p.preempted_at >= w.lo AND p.preempted_at < w.hi
    GROUP BY ALL
),
teams AS (
    SELECT side, team FROM waits UNION SELECT side, team FROM usage
    UNION SELECT side, team FROM preempted
)
SELECT t.team, t.side, coalesce(w.waits, 0) AS waits, w.wait_p50_s, w.wait_p95_s,
    coalesce(u.starved_minutes, 0) AS starved_minutes,
    coalesce(p.preemptions, 0) AS preemptions,
    u.used_gpu_hours, u.guaranteed_gpu_hours
FROM teams AS t
LEFT JOIN waits AS w USING (side, team)
LEFT JOIN usage AS u USING (side, team)
LEFT JOIN preempted AS p USING (side, team)
ORDER BY t.team, t.side DESC
