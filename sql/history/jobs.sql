-- One row per recorded Workload of one cluster, as optimizer.history reads its jobs (see that
-- module's docstring for each column's rule); seconds count from $origin.
-- Parameters: $cluster VARCHAR: the recorded cluster; $origin TIMESTAMP: the instant seconds
-- count from; $since TIMESTAMP: only Workloads created at or after it (NULL: all).
WITH lives AS (
    SELECT
        uid,
        min(namespace) AS namespace,
        min(name) AS name,
        arg_max(team, occurred_at) AS team,
        arg_max(accelerators, occurred_at) AS accelerators,
        arg_max(priority_class, occurred_at) AS priority_class,
        arg_max(instance_type, occurred_at) FILTER (
            WHERE event_type = 'admitted' AND instance_type IS NOT NULL
        ) AS admitted_type,
        min(created_at) AS submitted_at,
        min(occurred_at) FILTER (WHERE event_type = 'admitted') AS started_at,
        max(occurred_at) FILTER (WHERE event_type = 'admitted') AS last_admitted_at,
        min(occurred_at) FILTER (WHERE event_type IN ('finished', 'deleted')) AS ended_at,
        min(occurred_at) FILTER (WHERE event_type = 'finished') AS finished_at,
        count(*) FILTER (WHERE event_type = 'preempted') AS preemptions
    FROM workload_events
    WHERE cluster = $cluster
    GROUP BY uid
),
named AS (
    SELECT uid, arg_max(instance_type, start_at) AS known_type
    FROM workload_intervals
    WHERE cluster = $cluster AND instance_type IS NOT NULL
    GROUP BY uid
)
SELECT
    l.team,
    coalesce(l.admitted_type, n.known_type) AS instance_type,
    l.accelerators,
    date_diff('microsecond', $origin::TIMESTAMP, l.submitted_at) / 1e6 AS submit_s,
    date_diff('microsecond', $origin::TIMESTAMP, l.started_at) / 1e6 AS start_s,
    date_diff('microsecond', $origin::TIMESTAMP, l.ended_at) / 1e6 AS end_s,
    l.priority_class,
    l.preemptions,
    CASE WHEN l.finished_at IS NOT NULL AND l.last_admitted_at <= l.finished_at
        THEN date_diff('microsecond', l.last_admitted_at, l.finished_at) / 1e6
    END AS run_s
FROM lives AS l
LEFT JOIN named AS n USING (uid)
WHERE $since::TIMESTAMP IS NULL OR l.submitted_at >= $since::TIMESTAMP
ORDER BY l.submitted_at, l.namespace, l.name, l.uid;
