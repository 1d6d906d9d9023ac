-- Keeps one version of each event id in staged_workload_events: exact before inferred, then the
-- earliest observed, then the earliest occurred. Run only when the batch repeats an id (rare), so
-- the usual batch pays for no window.
-- Parameters: none.
DELETE FROM staged_workload_events
WHERE rowid IN (
    SELECT rowid
    FROM staged_workload_events
    QUALIFY row_number() OVER (
        PARTITION BY event_id ORDER BY inferred, observed_at, occurred_at
    ) > 1
);
