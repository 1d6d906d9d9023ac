-- The event log loses its primary key, and the aggregates gain a record of what each flush
-- changed, so neither a flush nor the log-vs-aggregates audit costs more as the history grows.
--
-- 1. workload_events without the event_id index. Inserting a batch's ids into an index over
--    every stored id grew with the log (2,000 new keys into a 10M-key index took 5.2 s of a
--    6.7 s flush). An id is sha256(cluster, uid, type, ordinal) of its Workload, so a stored
--    version of an id sits among its Workload's events, which the sink already reads from the
--    log's tail (workload_first_events): the sink compares versions there, and an id is still
--    stored once (sql/sink/stored_workload_event_versions.sql). DuckDB cannot drop a key with
--    ALTER TABLE, so the table is copied, in its stored (time) order, and swapped; the views
--    over it are re-created by the migration that follows.
CREATE TABLE workload_events_without_key (
    event_id VARCHAR NOT NULL,
    schema_version INTEGER NOT NULL,
    cluster VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    observed_at TIMESTAMP NOT NULL,
    event_type VARCHAR NOT NULL CHECK (
        event_type IN (
            'submitted', 'quota_reserved', 'admitted', 'evicted', 'preempted', 'requeued',
            'finished', 'deleted', 'pending'
        )
    ),
    ordinal INTEGER NOT NULL CHECK (ordinal >= 1),
    inferred BOOLEAN NOT NULL,
    namespace VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    uid VARCHAR NOT NULL,
    team VARCHAR NOT NULL,
    local_queue VARCHAR NOT NULL,
    cluster_queue VARCHAR,
    priority INTEGER NOT NULL,
    priority_class VARCHAR,
    instance_type VARCHAR,
    requests MAP(VARCHAR, BIGINT) NOT NULL,
    accelerators BIGINT NOT NULL,
    cpu_millis BIGINT NOT NULL,
    memory_bytes BIGINT NOT NULL,
    reason VARCHAR,
    message VARCHAR,
    preemptor_uid VARCHAR,
    created_at TIMESTAMP NOT NULL
);

INSERT INTO workload_events_without_key SELECT * FROM workload_events;

DROP TABLE workload_events;

ALTER TABLE workload_events_without_key RENAME TO workload_events;

-- 2. One row per refresh of the aggregates: the Workloads whose intervals and waits it rewrote
--    (NULL: all of them, a rebuild), the earliest instant any of their rows starts, and the
--    first minute of usage_minutes it rewrote. The log-vs-aggregates audit checks only what
--    the refreshes since its last recorded pass changed (audit_passes); a pass deletes the
--    rows it covered, so the table holds only what is not audited yet.
CREATE TABLE IF NOT EXISTS aggregate_changes (
    change_id BIGINT NOT NULL,  -- nextval('aggregate_change_ids'): never reused
    clusters VARCHAR[],
    uids VARCHAR[],
    first_at TIMESTAMP,
    since TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

-- 3. Each pass of an audit that found nothing: every aggregate_changes row up to
--    through_change was checked. With no pass recorded, the audit checks everything.
CREATE TABLE IF NOT EXISTS audit_passes (
    audit VARCHAR NOT NULL,
    through_change BIGINT NOT NULL,
    whole BOOLEAN NOT NULL,
    passed_at TIMESTAMP NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS aggregate_change_ids;
