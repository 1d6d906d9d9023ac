-- v_workload_waits: how long Workloads waited to be admitted (the 'admitted' event).
--   initial      from creation (created_at) to the first admission;
--   readmission  from the event that ended an admitted stretch (preempted or evicted) to the
--                next admission.
-- outcome: 'admitted'; 'ended' when the Workload finished or was deleted first; 'waiting'.
-- admitted_at and wait_s are NULL unless admitted. The sink materializes this as
-- workload_waits for the Workloads each batch touches; workload_waits_of(events) is the same
-- over any table of whole Workloads' events.
CREATE OR REPLACE MACRO workload_waits_of(events) AS TABLE
WITH ordered AS (
    SELECT
        e.*,
        row_number() OVER w AS position,
        lag(workload_phase(e.event_type)) OVER w AS previous_phase,
        min(CASE WHEN e.event_type = 'admitted' THEN e.occurred_at END) OVER (
            w ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
        ) AS next_admitted_at,
        min(CASE WHEN workload_phase(e.event_type) = 'done' THEN e.occurred_at END) OVER (
            w ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING
        ) AS next_done_at,
        min(e.created_at) OVER (PARTITION BY e.cluster, e.uid) AS first_created_at
    FROM query_table(events) AS e
    WINDOW w AS (
        PARTITION BY e.cluster, e.uid
        ORDER BY e.occurred_at, workload_event_rank(e.event_type), e.ordinal, e.event_id
    )
),
waits AS (
    SELECT *, 'initial' AS wait_kind, first_created_at AS started_at
    FROM ordered
    WHERE position = 1
    UNION ALL
    SELECT *, 'readmission' AS wait_kind, occurred_at AS started_at
    FROM ordered
    WHERE event_type IN ('preempted', 'evicted') AND previous_phase = 'admitted'
)
SELECT
    cluster, uid, namespace, name, team,
    priority_class,
    wait_kind,
    started_at,
    outcome,
    CASE WHEN outcome = 'admitted' THEN next_admitted_at END AS admitted_at,
    CASE
        WHEN outcome = 'admitted'
            THEN date_diff('millisecond', started_at, next_admitted_at) / 1000.0
    END AS wait_s
FROM (
    SELECT
        *,
        CASE
            WHEN next_admitted_at IS NOT NULL
                AND (next_done_at IS NULL OR next_admitted_at <= next_done_at)
                THEN 'admitted'
            WHEN next_done_at IS NOT NULL THEN 'ended'
            ELSE 'waiting'
        END AS outcome
    FROM waits
);

CREATE OR REPLACE VIEW v_workload_waits AS
SELECT * FROM workload_waits_of('workload_events');
