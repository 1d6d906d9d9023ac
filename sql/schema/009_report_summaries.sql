-- Summary tables the sink keeps per batch, so the reports that used to scan the whole history
-- (preemptions, pending_causes, starvation) read rows in proportion to what they show (issue 16).
-- The sink refreshes them for the Workloads a batch touches (sql/sink/report_summaries_*.sql);
-- the rebuild derives them from the log; sql/audits/assert_report_summaries_match_log.sql
-- compares them with the views over the log.

-- Per Workload seen in the log or named as a preemptor: its latest event's identity (the
-- preemptor columns of v_preemptions, workload_identities_of). A Workload named as a
-- preemptor before any of its events arrived has a row with has_events false and no identity
-- (unknown, as in v_preemptions); named_as_preemptor tells a later batch holding its events
-- that preemption_records name it. The sink reaches rows only through the primary key's
-- index (upserts), never by a scan.
CREATE TABLE IF NOT EXISTS workload_identities (
    cluster VARCHAR NOT NULL,
    uid VARCHAR NOT NULL,
    namespace VARCHAR,
    name VARCHAR,
    team VARCHAR,
    priority_class VARCHAR,
    has_events BOOLEAN NOT NULL,
    named_as_preemptor BOOLEAN NOT NULL,
    PRIMARY KEY (cluster, uid)
);

-- v_preemptions materialized: one row per 'preempted' event, in time order (so the sink
-- replaces a touched victim's rows through preempted_at's zone maps, and a report's time
-- range skips row groups).
CREATE TABLE IF NOT EXISTS preemption_records (
    cluster VARCHAR NOT NULL,
    preempted_at TIMESTAMP NOT NULL,
    reason VARCHAR,
    message VARCHAR,
    victim_namespace VARCHAR NOT NULL,
    victim_name VARCHAR NOT NULL,
    victim_uid VARCHAR NOT NULL,
    victim_team VARCHAR NOT NULL,
    victim_priority_class VARCHAR,
    instance_type VARCHAR,
    victim_accelerators BIGINT NOT NULL,
    preemptor_uid VARCHAR,
    preemptor_namespace VARCHAR,
    preemptor_name VARCHAR,
    preemptor_team VARCHAR,
    preemptor_priority_class VARCHAR
);

-- Per Workload, calendar day (UTC), team and cause: its pending time that day, in
-- milliseconds (as pending_causes measures it) and weighted by accelerators
-- (pending_cause_parts_of). Only days before the watermark's day are kept: they are final
-- until one of the Workload's events changes (a stretch still open counts to each day's end).
CREATE TABLE IF NOT EXISTS pending_cause_parts (
    cluster VARCHAR NOT NULL,
    uid VARCHAR NOT NULL,
    day DATE NOT NULL,
    team VARCHAR NOT NULL,
    cause VARCHAR NOT NULL,
    pending_ms BIGINT NOT NULL,
    pending_gpu_ms BIGINT NOT NULL
);

-- pending_cause_parts summed per day, team and cause (workloads: how many Workloads have a
-- part), kept by adding each batch's differences: what pending_causes reads for whole days.
CREATE TABLE IF NOT EXISTS pending_cause_days (
    day DATE NOT NULL,
    team VARCHAR NOT NULL,
    cause VARCHAR NOT NULL,
    workloads BIGINT NOT NULL,
    pending_ms BIGINT NOT NULL,
    pending_gpu_ms BIGINT NOT NULL,
    PRIMARY KEY (day, team, cause)
);

-- The minutes starvation counts: per team, instance type and minute (usage_minutes summed over
-- clusters), the guarantee, use and pending demand when pending > 0 and used < nominal
-- (starved_minutes_from). Starvation is the exception, so this holds few rows; the sink
-- rewrites it from the first minute it rewrites usage_minutes.
CREATE TABLE IF NOT EXISTS starved_minutes (
    team VARCHAR NOT NULL,
    instance_type VARCHAR NOT NULL,
    minute TIMESTAMP NOT NULL,
    nominal DOUBLE NOT NULL,
    used DOUBLE NOT NULL,
    pending DOUBLE NOT NULL
);

-- A record with aggregates already has history: the worker builds these tables from it when
-- it next opens the file (only these; see taskgov/store/migrations.py).
INSERT OR REPLACE INTO aggregate_state
SELECT 'report_summaries_requested', current_timestamp::TIMESTAMP
WHERE EXISTS (SELECT 1 FROM aggregate_state WHERE name = 'watermark');
