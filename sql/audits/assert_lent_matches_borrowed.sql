-- assert_lent_matches_borrowed: cohort minutes where what the members lent of a resource is
-- not min(their unused nominal (lent + idle), what they borrowed), the lent rule of
-- usage_minutes_from_steps; and teams without a cohort that lent. Tolerance: 1e-9 of the amounts, at least 1e-9.
WITH cohort_minutes AS (
    SELECT
        cluster,
        cohort,
        instance_type,
        minute,
        unnest([
            {
                'resource': 'accelerators',
                'lent': sum(lent_accelerators),
                'borrowed': sum(borrowed_accelerators),
                'unused': sum(lent_accelerators + idle_accelerators),
                'scale': greatest(1, sum(nominal_accelerators), sum(used_accelerators))
            },
            {
                'resource': 'cpu_millis',
                'lent': sum(lent_cpu_millis),
                'borrowed': sum(borrowed_cpu_millis),
                'unused': sum(lent_cpu_millis + idle_cpu_millis),
                'scale': greatest(1, sum(nominal_cpu_millis), sum(used_cpu_millis))
            },
            {
                'resource': 'memory_bytes',
                'lent': sum(lent_memory_bytes),
                'borrowed': sum(borrowed_memory_bytes),
                'unused': sum(lent_memory_bytes + idle_memory_bytes),
                'scale': greatest(1, sum(nominal_memory_bytes), sum(used_memory_bytes))
            }
        ], recursive := true)
    FROM usage_minutes
    GROUP BY cluster, cohort, instance_type, minute
)
SELECT cluster, cohort, instance_type, resource, minute, lent, borrowed, unused
FROM cohort_minutes
WHERE (cohort IS NULL AND lent > 1e-9 * scale)
    OR (cohort IS NOT NULL AND abs(lent - least(unused, borrowed)) > 1e-9 * scale)
ORDER BY minute, cluster, cohort, instance_type, resource;
