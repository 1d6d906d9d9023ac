-- v_workload_intervals: each stretch of a Workload's life from one of its events to the next,
-- while it is pending or holds quota (see workload_phase); end_at NULL is still open.
-- Derived from the event log alone; the sink materializes it as workload_intervals for the
-- Workloads each batch touches. The state at time t depends only on events at or before t.
-- workload_intervals_of(events) is the same over any table of whole Workloads' events (the
-- sink passes the touched Workloads' events, read from the log's tail).
--   instance_type  the flavor last known at the stretch's start: the event's own, or the one
--                  Kueue names in a pending message ("... in flavor ml.p5.48xlarge, ..."),
--                  since Kueue sets the flavor only once quota is reserved.
--   phase_since    the start of the run of stretches in the same phase ("pending since").
--   cause          pending_cause(message) of a pending stretch.
CREATE OR REPLACE MACRO workload_intervals_of(events) AS TABLE
WITH ordered AS (
    SELECT
        e.*,
        workload_phase(e.event_type) AS phase,
        last_value(
            coalesce(
                e.instance_type,
                nullif(regexp_extract(e.message, 'in flavor ([^ ,]+)', 1), '')
            ) IGNORE NULLS
        ) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS known_instance_type,
        lead(e.occurred_at) OVER w AS next_at,
        lag(workload_phase(e.event_type)) OVER w AS previous_phase
    FROM query_table(events) AS e
    WINDOW w AS (
        PARTITION BY e.cluster, e.uid
        ORDER BY e.occurred_at, workload_event_rank(e.event_type), e.ordinal, e.event_id
    )
),
stretches AS (
    SELECT
        *,
        -- Run starts only grow, so the latest one so far is the current run's.
        max(CASE WHEN previous_phase IS DISTINCT FROM phase THEN occurred_at END) OVER (
            PARTITION BY cluster, uid
            ORDER BY occurred_at, workload_event_rank(event_type), ordinal, event_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS phase_since
    FROM ordered
)
SELECT
    cluster, uid, namespace, name, team,
    local_queue,
    cluster_queue,
    priority,
    priority_class,
    known_instance_type AS instance_type,
    accelerators,
    cpu_millis,
    memory_bytes,
    phase,
    phase_since,
    occurred_at AS start_at,
    next_at AS end_at,
    event_id,
    event_type,
    reason,
    message,
    CASE WHEN phase = 'pending' THEN pending_cause(message) END AS cause
FROM stretches
WHERE phase <> 'done' AND (next_at IS NULL OR next_at > occurred_at);

CREATE OR REPLACE VIEW v_workload_intervals AS
SELECT * FROM workload_intervals_of('workload_events');
