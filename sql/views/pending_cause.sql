-- pending_cause(message): why a Workload waits, from the message Kueue writes on its
-- QuotaReserved=False condition. The first rule that matches wins:
--   inactive_queue          "is inactive", "doesn't exist": nothing is evaluated meanwhile.
--   waiting_for_preemption  "Pending the preemption": victims are chosen; Kueue appends this to
--                           the flavor message, so it is checked before the quota rules.
--   waiting_for_quota       "insufficient unused quota": some flavor fits once quota is free, so
--                           that is what the Workload waits for, even if other flavors never fit.
--   exceeds_max_quota       "> maximum capacity" or "borrowing limit": no flavor can ever fit.
--   no_matching_flavor      "doesn't match node affinity", "untolerated taint",
--                           "unavailable in ClusterQueue".
--   other                   anything else, including no message yet.
CREATE OR REPLACE MACRO pending_cause(message) AS
    CASE
        WHEN message IS NULL THEN 'other'
        WHEN contains(message, 'is inactive') OR contains(message, 'doesn''t exist')
            THEN 'inactive_queue'
        WHEN contains(message, 'Pending the preemption') THEN 'waiting_for_preemption'
        WHEN contains(message, 'insufficient unused quota') THEN 'waiting_for_quota'
        WHEN contains(message, '> maximum capacity') OR contains(message, 'borrowing limit')
            THEN 'exceeds_max_quota'
        WHEN contains(message, 'doesn''t match node affinity')
            OR contains(message, 'untolerated taint')
            OR contains(message, 'unavailable in ClusterQueue')
            THEN 'no_matching_flavor'
        ELSE 'other'
    END;

-- pending_cause_parts_of(stretches, lo, hi): the pending stretches of a table shaped like
-- workload_intervals, clipped to [lo, hi) (an open stretch runs to hi), split at UTC midnight:
-- per Workload, day, team and cause, the pending milliseconds (measured as pending_causes
-- measures them) and the same weighted by accelerators. One derivation for the summary the
-- sink keeps (pending_cause_parts) and for the partial days pending_causes computes live.
CREATE OR REPLACE MACRO pending_cause_parts_of(stretches, lo, hi) AS TABLE
WITH clipped AS (
    SELECT
        s.cluster,
        s.uid,
        s.team,
        s.cause,
        s.accelerators,
        greatest(s.start_at, lo::TIMESTAMP) AS start_at,
        least(coalesce(s.end_at, hi::TIMESTAMP), hi::TIMESTAMP) AS end_at
    FROM query_table(stretches) AS s
    WHERE s.phase = 'pending' AND s.start_at < hi::TIMESTAMP
),
days AS (
    SELECT *, unnest(range(date_trunc('day', start_at), end_at, INTERVAL 1 DAY)) AS day_start
    FROM clipped
    WHERE end_at > start_at
),
parts AS (
    SELECT
        *,
        date_diff(
            'millisecond',
            greatest(start_at, day_start),
            least(end_at, day_start + INTERVAL 1 DAY)
        ) AS pending_ms
    FROM days
)
SELECT
    cluster,
    uid,
    CAST(day_start AS DATE) AS day,
    team,
    cause,
    sum(pending_ms)::BIGINT AS pending_ms,
    sum(pending_ms * accelerators)::BIGINT AS pending_gpu_ms
FROM parts
GROUP BY cluster, uid, day_start, team, cause;
