-- assert_usage_minutes_balanced: usage_minutes rows whose parts do not add up, per resource.
-- Borrowed and unused are minute averages of max(used - nominal, 0) and max(nominal - used, 0)
-- taken instant by instant, so: amounts are not negative; borrowed - (lent + idle) =
-- used - nominal (so borrowed is at least used - nominal: more when used crossed nominal within
-- the minute); borrowed is at most used (so lent + idle is at most nominal). Tolerance: 1e-9 of the largest amount,
-- at least 1e-9 (minute averages in doubles).
WITH amounts AS (
    SELECT
        cluster, cohort, team, instance_type, minute,
        unnest([
            {
                'resource': 'accelerators', 'nominal': nominal_accelerators,
                'used': used_accelerators, 'borrowed': borrowed_accelerators,
                'lent': lent_accelerators, 'idle': idle_accelerators,
                'pending': pending_accelerators
            },
            {
                'resource': 'cpu_millis', 'nominal': nominal_cpu_millis,
                'used': used_cpu_millis, 'borrowed': borrowed_cpu_millis,
                'lent': lent_cpu_millis, 'idle': idle_cpu_millis, 'pending': pending_cpu_millis
            },
            {
                'resource': 'memory_bytes', 'nominal': nominal_memory_bytes,
                'used': used_memory_bytes, 'borrowed': borrowed_memory_bytes,
                'lent': lent_memory_bytes, 'idle': idle_memory_bytes,
                'pending': pending_memory_bytes
            }
        ], recursive := true)
    FROM usage_minutes
),
checked AS (
    SELECT *, 1e-9 * greatest(1, nominal, used) AS tolerance FROM amounts
)
SELECT
    CASE
        WHEN least(nominal, used, borrowed, lent, pending) < 0 OR idle < -tolerance
            THEN 'negative amount'
        WHEN abs(borrowed - lent - idle - (used - nominal)) > tolerance
            THEN 'borrowed - lent - idle is not used - nominal'
        ELSE 'borrowed is above used'
    END AS problem,
    * EXCLUDE (tolerance)
FROM checked
WHERE least(nominal, used, borrowed, lent, pending) < 0
    OR idle < -tolerance
    OR abs(borrowed - lent - idle - (used - nominal)) > tolerance
    OR borrowed > used + tolerance
ORDER BY minute, cluster, team, instance_type, resource;
