-- The event log: every fact the watcher saw, keyed by its deterministic event id.
-- Storing an id that is already present changes nothing (the sink keeps one version per id), so
-- at-least-once delivery and replays give exact results. Times are UTC without a zone.

CREATE TABLE IF NOT EXISTS workload_events (
    event_id VARCHAR PRIMARY KEY,
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
    -- Total requests over pod sets in Kueue units, as sent.
    requests MAP(VARCHAR, BIGINT) NOT NULL,
    accelerators BIGINT NOT NULL,
    -- requests['cpu'] and requests['memory'], copied out so aggregates scan plain columns.
    cpu_millis BIGINT NOT NULL,
    memory_bytes BIGINT NOT NULL,
    reason VARCHAR,
    message VARCHAR,
    preemptor_uid VARCHAR,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS cluster_queue_events (
    event_id VARCHAR PRIMARY KEY,
    schema_version INTEGER NOT NULL,
    cluster VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    observed_at TIMESTAMP NOT NULL,
    event_type VARCHAR NOT NULL CHECK (event_type IN ('quota_changed', 'deleted')),
    name VARCHAR NOT NULL,
    team VARCHAR NOT NULL,
    cohort VARCHAR,
    resource_version VARCHAR NOT NULL
);

-- One row per flavor and resource of a ClusterQueue event; NULL limits are unlimited, as in Kueue.
CREATE TABLE IF NOT EXISTS cluster_queue_quotas (
    event_id VARCHAR NOT NULL,
    flavor VARCHAR NOT NULL,
    resource VARCHAR NOT NULL,
    nominal BIGINT NOT NULL,
    borrowing_limit BIGINT,
    lending_limit BIGINT,
    PRIMARY KEY (event_id, flavor, resource)
);

-- What the watcher could not understand; the id hashes cluster, kind, reason and raw text.
CREATE TABLE IF NOT EXISTS dead_letters (
    dead_letter_id VARCHAR PRIMARY KEY,
    schema_version INTEGER NOT NULL,
    cluster VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    raw VARCHAR NOT NULL,
    observed_at TIMESTAMP NOT NULL
);
