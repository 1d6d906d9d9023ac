-- usage_steps_between(since, until): per cluster, team, instance type and each minute with
-- a change, from the minute holding `since` up to `until` (the watermark): the net change of
-- every amount in that minute (d_*) and the amount x microseconds the changes add to it (*_us).
-- The sink stores these rows in usage_steps, ordered, for usage_minutes_from_steps.
--
-- Amounts: n nominal, u used, p pending, and, per instant, b borrowed = max(u - n, 0) and
-- f unused = max(n - u, 0). b and f are stepped at the instants they change, not derived from
-- minute averages: a job admitted at :30 above quota borrows half a minute, which
-- max(avg used - avg nominal, 0) would round away.
--
-- Amounts come from v_quota_history (nominal) and the materialized workload_intervals (used
-- while admitted, pending while pending; the open ones from open_workload_intervals). Stretches begun earlier count from the first minute
-- and every stretch still open ends at `until`, so each key's changes sum to zero.
-- Exact: each step is summed as integer amount x microseconds before any division.
CREATE OR REPLACE MACRO usage_steps_between(since, until) AS TABLE
WITH bounds AS (
    SELECT
        date_trunc('minute', since::TIMESTAMP) AS first_minute,
        until::TIMESTAMP AS end_at
),
-- 1. Stretches during which amounts hold: quota lines (per ClusterQueue event and flavor), and
--    admitted (used) or pending Workloads.
quota_segments AS (
    SELECT
        cluster,
        team,
        flavor AS instance_type,
        valid_from AS start_at,
        valid_to AS end_at,
        sum(nominal) FILTER (accounted_resource(resource) = 'accelerators') AS n_acc,
        sum(nominal) FILTER (accounted_resource(resource) = 'cpu_millis') AS n_cpu,
        sum(nominal) FILTER (accounted_resource(resource) = 'memory_bytes') AS n_mem
    FROM v_quota_history
    GROUP BY cluster, cluster_queue, team, flavor, valid_from, valid_to
),
segments AS (
    SELECT
        cluster,
        team,
        instance_type,
        start_at,
        end_at,
        coalesce(n_acc, 0) AS n_acc,
        coalesce(n_cpu, 0) AS n_cpu,
        coalesce(n_mem, 0) AS n_mem,
        0 AS u_acc,
        0 AS u_cpu,
        0 AS u_mem,
        0 AS p_acc,
        0 AS p_cpu,
        0 AS p_mem
    FROM quota_segments
    WHERE coalesce(n_acc, 0) <> 0 OR coalesce(n_cpu, 0) <> 0 OR coalesce(n_mem, 0) <> 0
    UNION ALL
    SELECT
        w.cluster,
        w.team,
        coalesce(w.instance_type, '') AS instance_type,
        w.start_at,
        w.end_at,
        0,
        0,
        0,
        CASE WHEN w.phase = 'admitted' THEN w.accelerators ELSE 0 END,
        CASE WHEN w.phase = 'admitted' THEN w.cpu_millis ELSE 0 END,
        CASE WHEN w.phase = 'admitted' THEN w.memory_bytes ELSE 0 END,
        CASE WHEN w.phase = 'pending' THEN w.accelerators ELSE 0 END,
        CASE WHEN w.phase = 'pending' THEN w.cpu_millis ELSE 0 END,
        CASE WHEN w.phase = 'pending' THEN w.memory_bytes ELSE 0 END
    FROM (
        -- The bounds again, as plain constants, so DuckDB filters in the scan and end_at's
        -- zone maps skip the history; the stretches still open come from
        -- open_workload_intervals.
        SELECT *
        FROM workload_intervals
        WHERE end_at > date_trunc('minute', since::TIMESTAMP) AND start_at < until::TIMESTAMP
        UNION ALL
        SELECT * FROM open_workload_intervals WHERE start_at < until::TIMESTAMP
    ) AS w
    WHERE w.accelerators <> 0 OR w.cpu_millis <> 0 OR w.memory_bytes <> 0
),
-- 2. Clip to the bounds: a stretch begun earlier counts from the first minute, and every
--    stretch still open ends at `until`.
clipped AS (
    SELECT
        s.* REPLACE (
            greatest(s.start_at, b.first_minute) AS start_at,
            least(coalesce(s.end_at, b.end_at), b.end_at) AS end_at
        )
    FROM segments AS s, bounds AS b
    WHERE s.start_at < b.end_at AND (s.end_at IS NULL OR s.end_at > b.first_minute)
),
-- 3. Step changes: + at the start, - at the end.
changes AS (
    SELECT
        cluster, team, instance_type, start_at AS changed_at,
        n_acc, n_cpu, n_mem, u_acc, u_cpu, u_mem, p_acc, p_cpu, p_mem
    FROM clipped
    UNION ALL
    SELECT
        cluster, team, instance_type, end_at AS changed_at,
        -n_acc, -n_cpu, -n_mem, -u_acc, -u_cpu, -u_mem, -p_acc, -p_cpu, -p_mem
    FROM clipped
),
-- 4. Levels at each instant, and the changes of borrowed (b) and unused (f) they imply. Each
--    key's changes sum to zero (every stretch ends by `until`), so a running sum over all rows
--    in key and time order restarts at zero at each key, and the last level of a key is zero.
instants AS (
    SELECT
        cluster, team, instance_type, changed_at,
        sum(n_acc) AS n_acc, sum(n_cpu) AS n_cpu, sum(n_mem) AS n_mem,
        sum(u_acc) AS u_acc, sum(u_cpu) AS u_cpu, sum(u_mem) AS u_mem,
        sum(p_acc) AS p_acc, sum(p_cpu) AS p_cpu, sum(p_mem) AS p_mem
    FROM changes
    GROUP BY cluster, team, instance_type, changed_at
),
levels AS (
    SELECT
        *,
        greatest(sum(u_acc - n_acc) OVER so_far, 0) AS b_acc_level,
        greatest(sum(u_cpu - n_cpu) OVER so_far, 0) AS b_cpu_level,
        greatest(sum(u_mem - n_mem) OVER so_far, 0) AS b_mem_level,
        greatest(sum(n_acc - u_acc) OVER so_far, 0) AS f_acc_level,
        greatest(sum(n_cpu - u_cpu) OVER so_far, 0) AS f_cpu_level,
        greatest(sum(n_mem - u_mem) OVER so_far, 0) AS f_mem_level
    FROM instants
    WINDOW so_far AS (
        ORDER BY cluster, team, instance_type, changed_at ROWS UNBOUNDED PRECEDING
    )
),
stepped AS (
    SELECT
        * EXCLUDE (b_acc_level, b_cpu_level, b_mem_level, f_acc_level, f_cpu_level, f_mem_level),
        b_acc_level - coalesce(lag(b_acc_level) OVER ordered, 0) AS b_acc,
        b_cpu_level - coalesce(lag(b_cpu_level) OVER ordered, 0) AS b_cpu,
        b_mem_level - coalesce(lag(b_mem_level) OVER ordered, 0) AS b_mem,
        f_acc_level - coalesce(lag(f_acc_level) OVER ordered, 0) AS f_acc,
        f_cpu_level - coalesce(lag(f_cpu_level) OVER ordered, 0) AS f_cpu,
        f_mem_level - coalesce(lag(f_mem_level) OVER ordered, 0) AS f_mem
    FROM levels
    WINDOW ordered AS (ORDER BY cluster, team, instance_type, changed_at)
),
-- 5. Per key and minute with changes: the net change (d_), and the amount x microseconds the
--    changes add to the minute (_us; each counts from its instant to the minute's end).
per_minute AS (
    SELECT
        cluster,
        team,
        instance_type,
        minute,
        sum(n_acc)::BIGINT AS d_n_acc,
        sum(n_cpu)::BIGINT AS d_n_cpu,
        sum(n_mem)::BIGINT AS d_n_mem,
        sum(u_acc)::BIGINT AS d_u_acc,
        sum(u_cpu)::BIGINT AS d_u_cpu,
        sum(u_mem)::BIGINT AS d_u_mem,
        sum(p_acc)::BIGINT AS d_p_acc,
        sum(p_cpu)::BIGINT AS d_p_cpu,
        sum(p_mem)::BIGINT AS d_p_mem,
        sum(b_acc)::BIGINT AS d_b_acc,
        sum(b_cpu)::BIGINT AS d_b_cpu,
        sum(b_mem)::BIGINT AS d_b_mem,
        sum(f_acc)::BIGINT AS d_f_acc,
        sum(f_cpu)::BIGINT AS d_f_cpu,
        sum(f_mem)::BIGINT AS d_f_mem,
        sum(n_acc * us) AS n_acc_us,
        sum(n_cpu * us) AS n_cpu_us,
        sum(n_mem * us) AS n_mem_us,
        sum(u_acc * us) AS u_acc_us,
        sum(u_cpu * us) AS u_cpu_us,
        sum(u_mem * us) AS u_mem_us,
        sum(p_acc * us) AS p_acc_us,
        sum(p_cpu * us) AS p_cpu_us,
        sum(p_mem * us) AS p_mem_us,
        sum(b_acc * us) AS b_acc_us,
        sum(b_cpu * us) AS b_cpu_us,
        sum(b_mem * us) AS b_mem_us,
        sum(f_acc * us) AS f_acc_us,
        sum(f_cpu * us) AS f_cpu_us,
        sum(f_mem * us) AS f_mem_us
    FROM (
        SELECT
            *,
            date_trunc('minute', changed_at) AS minute,
            date_diff(
                'microsecond', changed_at, date_trunc('minute', changed_at) + INTERVAL 1 MINUTE
            )::HUGEINT AS us
        FROM stepped
    )
    GROUP BY cluster, team, instance_type, minute
)
SELECT * FROM per_minute;
