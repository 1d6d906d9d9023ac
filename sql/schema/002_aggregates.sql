-- What the sink has applied, and the aggregates it maintains in the same transaction as the log.
--
-- Materialized (expensive to derive, read by every report, cheap to keep current):
--   workload_intervals  v_workload_intervals, refreshed per Workload touched by a batch;
--   workload_waits      v_workload_waits, refreshed the same way;
--   usage_minutes       usage_steps_between() then usage_minutes_from_steps(), refreshed from
--                       the earliest minute a batch can change (a Workload's state at time t
--                       depends only on its events <= t).
-- Everything else (quota history, preemptions, cohorts) stays a view: small or a single pass.

-- Per Kafka partition, the next offset to consume: committed with the events it covers, so a
-- restarted worker can seek here whatever the broker remembers.
CREATE TABLE IF NOT EXISTS applied_offsets (
    topic VARCHAR NOT NULL,
    topic_partition INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    PRIMARY KEY (topic, topic_partition)
);

-- Named instants the aggregates were built to. 'watermark': the latest occurred_at in the log,
-- or a later instant the worker's clock gave; it never goes back. Open stretches end there.
CREATE TABLE IF NOT EXISTS aggregate_state (
    name VARCHAR PRIMARY KEY,
    instant TIMESTAMP NOT NULL
);

-- One row per stretch of a Workload's life between two of its events, while pending or holding
-- quota; end_at NULL means still open at the watermark.
CREATE TABLE IF NOT EXISTS workload_intervals (
    cluster VARCHAR NOT NULL,
    uid VARCHAR NOT NULL,
    namespace VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    team VARCHAR NOT NULL,
    local_queue VARCHAR NOT NULL,
    cluster_queue VARCHAR,
    priority INTEGER NOT NULL,
    priority_class VARCHAR,
    instance_type VARCHAR,
    accelerators BIGINT NOT NULL,
    cpu_millis BIGINT NOT NULL,
    memory_bytes BIGINT NOT NULL,
    phase VARCHAR NOT NULL CHECK (phase IN ('pending', 'admitted')),
    phase_since TIMESTAMP NOT NULL,
    start_at TIMESTAMP NOT NULL,
    end_at TIMESTAMP,
    event_id VARCHAR NOT NULL,
    event_type VARCHAR NOT NULL,
    reason VARCHAR,
    message VARCHAR,
    cause VARCHAR
);

-- One row per wait: from creation to the first admission ('initial'), and from each eviction of
-- an admitted Workload to its next admission ('readmission'). outcome: 'admitted', 'ended'
-- (finished or deleted first) or 'waiting'; admitted_at and wait_s are set when admitted.
CREATE TABLE IF NOT EXISTS workload_waits (
    cluster VARCHAR NOT NULL,
    uid VARCHAR NOT NULL,
    namespace VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    team VARCHAR NOT NULL,
    priority_class VARCHAR,
    wait_kind VARCHAR NOT NULL CHECK (wait_kind IN ('initial', 'readmission')),
    started_at TIMESTAMP NOT NULL,
    outcome VARCHAR NOT NULL CHECK (outcome IN ('admitted', 'ended', 'waiting')),
    admitted_at TIMESTAMP,
    wait_s DOUBLE
);

-- Per cluster, team, instance type (flavor) and minute: time-averaged amounts of each resource,
-- accelerators (nvidia.com/gpu or aws.amazon.com/neurondevice, in devices), cpu_millis and
-- memory_bytes. cohort is the team's as of the minute's start. instance_type NULL: pending
-- demand whose flavor Kueue has not named yet. Rows where all amounts are zero are left out.
--   nominal_*   the team's nominal quota (its guarantee)
--   used_*      held by its admitted Workloads (quota reserved)
--   borrowed_*  used above nominal
--   lent_*      nominal it left unused that others in its cohort borrowed (see
--               usage_minutes_from_steps for the rule)
--   idle_*      nominal nobody used: max(nominal - used, 0) - lent
--   pending_*   requested by its pending Workloads
CREATE TABLE IF NOT EXISTS usage_minutes (
    cluster VARCHAR NOT NULL,
    cohort VARCHAR,
    team VARCHAR NOT NULL,
    instance_type VARCHAR,
    minute TIMESTAMP NOT NULL,
    nominal_accelerators DOUBLE NOT NULL,
    used_accelerators DOUBLE NOT NULL,
    borrowed_accelerators DOUBLE NOT NULL,
    lent_accelerators DOUBLE NOT NULL,
    idle_accelerators DOUBLE NOT NULL,
    pending_accelerators DOUBLE NOT NULL,
    nominal_cpu_millis DOUBLE NOT NULL,
    used_cpu_millis DOUBLE NOT NULL,
    borrowed_cpu_millis DOUBLE NOT NULL,
    lent_cpu_millis DOUBLE NOT NULL,
    idle_cpu_millis DOUBLE NOT NULL,
    pending_cpu_millis DOUBLE NOT NULL,
    nominal_memory_bytes DOUBLE NOT NULL,
    used_memory_bytes DOUBLE NOT NULL,
    borrowed_memory_bytes DOUBLE NOT NULL,
    lent_memory_bytes DOUBLE NOT NULL,
    idle_memory_bytes DOUBLE NOT NULL,
    pending_memory_bytes DOUBLE NOT NULL
);

-- Work table of the usage_minutes refresh (see usage_steps_between): filled in key and minute
-- order and emptied again inside the sink's transaction, so it is empty whenever committed.
-- instance_type '' stands for unknown here, so keys compare equal.
CREATE TABLE IF NOT EXISTS usage_steps (
    cluster VARCHAR NOT NULL,
    team VARCHAR NOT NULL,
    instance_type VARCHAR NOT NULL,
    minute TIMESTAMP NOT NULL,
    d_n_acc BIGINT NOT NULL,
    d_n_cpu BIGINT NOT NULL,
    d_n_mem BIGINT NOT NULL,
    d_u_acc BIGINT NOT NULL,
    d_u_cpu BIGINT NOT NULL,
    d_u_mem BIGINT NOT NULL,
    d_p_acc BIGINT NOT NULL,
    d_p_cpu BIGINT NOT NULL,
    d_p_mem BIGINT NOT NULL,
    n_acc_us HUGEINT NOT NULL,
    n_cpu_us HUGEINT NOT NULL,
    n_mem_us HUGEINT NOT NULL,
    u_acc_us HUGEINT NOT NULL,
    u_cpu_us HUGEINT NOT NULL,
    u_mem_us HUGEINT NOT NULL,
    p_acc_us HUGEINT NOT NULL,
    p_cpu_us HUGEINT NOT NULL,
    p_mem_us HUGEINT NOT NULL
);
