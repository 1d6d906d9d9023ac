-- Waits that ended in admission, per cluster, team, priority class, kind and histogram bucket:
-- bucket is how many of the upper bounds in $bounds (seconds, ascending) lie below the wait,
-- so bucket i holds the waits in (bounds[i], bounds[i+1]] (Prometheus's cumulative _bucket
-- series, and _count and _sum, are summed from these).
-- Parameters:
--   $bounds  DOUBLE[]: the bucket upper bounds, ascending
SELECT
    cluster,
    team,
    coalesce(priority_class, '') AS priority_class,
    wait_kind,
    len(list_filter($bounds::DOUBLE[], lambda bound: bound < wait_s)) AS bucket,
    count(*) AS waits,
    sum(wait_s) AS wait_s_sum
FROM workload_waits
WHERE outcome = 'admitted'
GROUP BY ALL
ORDER BY ALL;
