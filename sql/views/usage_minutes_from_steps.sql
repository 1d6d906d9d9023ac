-- usage_minutes_from_steps(until): the usage_minutes rows built from usage_steps (see
-- usage_steps_between), for every minute from the first step to the one holding `until`.
--
-- Levels: usage_steps is filled in (cluster, team, instance_type, minute) order and each key's
-- changes sum to zero, so one running sum over the table in that order restarts at zero at
-- every key: the per-key level, in one streaming pass (a partitioned window over minutes is
-- about 20 times slower here). lead() finds the key's next step the same way.
-- The cohort of a team in a minute is the one of its ClusterQueue as of the minute's start;
-- in the minute its first ClusterQueue appears, that one's.
--
-- Per resource: borrowed = max(used - nominal, 0), unused = max(nominal - used, 0), both
-- integrated instant by instant (usage_steps_between steps them), so a minute's borrowed is
-- exact to the microsecond even when admissions fall inside it.
-- Lent rule, per cluster, cohort, instance type, resource and minute:
--   lent_total = min(sum of the members' unused, sum of the members' borrowed)
-- In a cohort whose capacity is its members' nominal, borrowed never exceeds unused at any
-- instant, so lent_total is the minute's borrowed total exactly.
-- and each member lends lent_total * its unused / sum of unused: Kueue does not record whose
-- quota a borrower used, so the borrowing is attributed to the idle guarantees in proportion
-- (lendingLimit is not applied). idle = unused - lent. A team without a cohort lends nothing.
CREATE OR REPLACE MACRO usage_minutes_from_steps(until) AS TABLE
WITH bounds AS (
    SELECT until::TIMESTAMP AS end_at
),
-- 6. The level after each step, held until the key's next step.
running AS (
    SELECT
        *,
        sum(d_n_acc) OVER so_far AS n_acc,
        sum(d_n_cpu) OVER so_far AS n_cpu,
        sum(d_n_mem) OVER so_far AS n_mem,
        sum(d_u_acc) OVER so_far AS u_acc,
        sum(d_u_cpu) OVER so_far AS u_cpu,
        sum(d_u_mem) OVER so_far AS u_mem,
        sum(d_p_acc) OVER so_far AS p_acc,
        sum(d_p_cpu) OVER so_far AS p_cpu,
        sum(d_p_mem) OVER so_far AS p_mem,
        sum(d_b_acc) OVER so_far AS b_acc,
        sum(d_b_cpu) OVER so_far AS b_cpu,
        sum(d_b_mem) OVER so_far AS b_mem,
        sum(d_f_acc) OVER so_far AS f_acc,
        sum(d_f_cpu) OVER so_far AS f_cpu,
        sum(d_f_mem) OVER so_far AS f_mem,
        lead(cluster) OVER () AS next_cluster,
        lead(team) OVER () AS next_team,
        lead(instance_type) OVER () AS next_instance_type,
        lead(minute) OVER () AS next_step
    FROM usage_steps
    WINDOW so_far AS (ROWS UNBOUNDED PRECEDING)
),
steps AS (
    SELECT
        * EXCLUDE (next_cluster, next_team, next_instance_type, next_step),
        CASE
            WHEN next_cluster = cluster AND next_team = team
                AND next_instance_type = instance_type
                THEN next_step
            ELSE minute
        END AS next_minute
    FROM running
),
-- 7. Spans of a team's cohort, in whole minutes (as of each minute's start; the first from the
--    minute it appears in); before that minute a team has none.
cohort_spans AS (
    SELECT
        cluster,
        team,
        cohort,
        CASE
            WHEN valid_from = min(valid_from) OVER (PARTITION BY cluster, team)
                THEN date_trunc('minute', valid_from)
            ELSE ceil_minute(valid_from)
        END AS from_minute,
        coalesce(
            ceil_minute(lead(valid_from) OVER (PARTITION BY cluster, team ORDER BY valid_from)),
            TIMESTAMP 'infinity'
        ) AS to_minute
    FROM v_team_cohorts
    UNION ALL
    SELECT cluster, team, NULL, TIMESTAMP '-infinity', date_trunc('minute', min(valid_from))
    FROM v_team_cohorts
    GROUP BY cluster, team
),
spans AS (
    SELECT
        s.*,
        c.cohort,
        coalesce(c.from_minute, TIMESTAMP '-infinity') AS from_minute,
        coalesce(c.to_minute, TIMESTAMP 'infinity') AS to_minute
    FROM steps AS s
    LEFT JOIN cohort_spans AS c
        ON c.cluster = s.cluster
        AND c.team = s.team
        AND c.from_minute < greatest(s.next_minute, s.minute + INTERVAL 1 MINUTE)
        AND c.to_minute > s.minute
),
-- 8. Every minute, in amount x microseconds: the one with changes (level before + what changed
--    within it), then each minute up to the next change at the level after (runs at zero are
--    skipped).
dense AS (
    SELECT
        cluster, cohort, team, instance_type, minute,
        (n_acc - d_n_acc) * 60000000 + n_acc_us AS n_acc,
        (n_cpu - d_n_cpu) * 60000000 + n_cpu_us AS n_cpu,
        (n_mem - d_n_mem) * 60000000 + n_mem_us AS n_mem,
        (u_acc - d_u_acc) * 60000000 + u_acc_us AS u_acc,
        (u_cpu - d_u_cpu) * 60000000 + u_cpu_us AS u_cpu,
        (u_mem - d_u_mem) * 60000000 + u_mem_us AS u_mem,
        (p_acc - d_p_acc) * 60000000 + p_acc_us AS p_acc,
        (p_cpu - d_p_cpu) * 60000000 + p_cpu_us AS p_cpu,
        (p_mem - d_p_mem) * 60000000 + p_mem_us AS p_mem,
        (b_acc - d_b_acc) * 60000000 + b_acc_us AS b_acc,
        (b_cpu - d_b_cpu) * 60000000 + b_cpu_us AS b_cpu,
        (b_mem - d_b_mem) * 60000000 + b_mem_us AS b_mem,
        (f_acc - d_f_acc) * 60000000 + f_acc_us AS f_acc,
        (f_cpu - d_f_cpu) * 60000000 + f_cpu_us AS f_cpu,
        (f_mem - d_f_mem) * 60000000 + f_mem_us AS f_mem
    FROM spans
    WHERE minute >= from_minute AND minute < to_minute
    UNION ALL
    SELECT
        cluster, cohort, team, instance_type,
        unnest(range(
            greatest(minute + INTERVAL 1 MINUTE, from_minute),
            least(next_minute, to_minute),
            INTERVAL 1 MINUTE
        )) AS minute,
        n_acc * 60000000,
        n_cpu * 60000000,
        n_mem * 60000000,
        u_acc * 60000000,
        u_cpu * 60000000,
        u_mem * 60000000,
        p_acc * 60000000,
        p_cpu * 60000000,
        p_mem * 60000000,
        b_acc * 60000000,
        b_cpu * 60000000,
        b_mem * 60000000,
        f_acc * 60000000,
        f_cpu * 60000000,
        f_mem * 60000000
    FROM spans
    WHERE n_acc <> 0 OR n_cpu <> 0 OR n_mem <> 0
        OR u_acc <> 0 OR u_cpu <> 0 OR u_mem <> 0
        OR p_acc <> 0 OR p_cpu <> 0 OR p_mem <> 0
),
-- 9. The minutes before `until` with any amount; the cohort totals of borrowed (b_) and
--    unused (f_) where someone borrowed and someone had guarantee unused (elsewhere nothing is
--    lent).
shares AS (
    SELECT d.*
    FROM dense AS d, bounds AS b
    WHERE d.minute < b.end_at
        AND (
            d.n_acc <> 0 OR d.n_cpu <> 0 OR d.n_mem <> 0
            OR d.u_acc <> 0 OR d.u_cpu <> 0 OR d.u_mem <> 0
            OR d.p_acc <> 0 OR d.p_cpu <> 0 OR d.p_mem <> 0
        )
),
lenders AS (
    SELECT
        cluster,
        cohort,
        instance_type,
        minute,
        sum(f_acc) AS f_acc,
        sum(f_cpu) AS f_cpu,
        sum(f_mem) AS f_mem,
        sum(b_acc) AS b_acc,
        sum(b_cpu) AS b_cpu,
        sum(b_mem) AS b_mem
    FROM shares
    WHERE cohort IS NOT NULL
    GROUP BY cluster, cohort, instance_type, minute
    HAVING (sum(f_acc) > 0 AND sum(b_acc) > 0)
        OR (sum(f_cpu) > 0 AND sum(b_cpu) > 0)
        OR (sum(f_mem) > 0 AND sum(b_mem) > 0)
),
lending AS (
    SELECT
        s.*,
        lent_share(s.f_acc, l.f_acc, l.b_acc) AS l_acc,
        lent_share(s.f_cpu, l.f_cpu, l.b_cpu) AS l_cpu,
        lent_share(s.f_mem, l.f_mem, l.b_mem) AS l_mem,
        s.f_acc::DOUBLE - l_acc AS i_acc,
        s.f_cpu::DOUBLE - l_cpu AS i_cpu,
        s.f_mem::DOUBLE - l_mem AS i_mem
    FROM shares AS s
    LEFT JOIN lenders AS l USING (cluster, cohort, instance_type, minute)
),
-- 10. Each measure of each resource as a minute average (amount x microseconds / 60,000,000),
--     named MEASURE_acc, _cpu or _mem, in usage_minutes' order of measures.
averages AS (
    SELECT
        cluster, cohort, team, nullif(instance_type, '') AS instance_type, minute,
        COLUMNS('^n_(acc|cpu|mem)$')::DOUBLE / 60000000 AS 'nominal_\1',
        COLUMNS('^u_(acc|cpu|mem)$')::DOUBLE / 60000000 AS 'used_\1',
        COLUMNS('^b_(acc|cpu|mem)$')::DOUBLE / 60000000 AS 'borrowed_\1',
        COLUMNS('^l_(acc|cpu|mem)$') / 60000000 AS 'lent_\1',
        COLUMNS('^i_(acc|cpu|mem)$') / 60000000 AS 'idle_\1',
        COLUMNS('^p_(acc|cpu|mem)$')::DOUBLE / 60000000 AS 'pending_\1'
    FROM lending
)
-- 11. usage_minutes' columns in its order: per resource, its six measures (COLUMNS keeps the
--     order of averages).
SELECT
    cluster, cohort, team, instance_type, minute,
    COLUMNS('^(nominal|used|borrowed|lent|idle|pending)_acc$') AS '\1_accelerators',
    COLUMNS('^(nominal|used|borrowed|lent|idle|pending)_cpu$') AS '\1_cpu_millis',
    COLUMNS('^(nominal|used|borrowed|lent|idle|pending)_mem$') AS '\1_memory_bytes'
FROM averages;
