-- owner: optimizer
-- Recommendation runs (`taskgov recommend`): what went in, the demand evidence the model read,
-- what the solver found, the plan per team and the what-if replay of current vs proposed.
-- Written by optimizer/store.py, one transaction per run; read by `taskgov recommend --list`
-- and `--show`, or plain SQL. Seconds (*_s) count from origin for a recorded history and from
-- the trace's start for a trace. JSON columns hold the pydantic models as JSON text.

CREATE TABLE IF NOT EXISTS recommendation_runs (
    run_id INTEGER PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    -- Where the jobs came from: 'duckdb' (a recorded history) or 'trace' (replayed on the twin).
    source_kind VARCHAR NOT NULL CHECK (source_kind IN ('duckdb', 'trace')),
    -- The database or trace file read.
    source VARCHAR NOT NULL,
    -- The recorded cluster (the watcher's cluster label); NULL for a trace.
    cluster VARCHAR,
    -- The instant seconds count from (UTC); NULL for a trace.
    origin TIMESTAMP,
    -- Only jobs submitted from since_s on were read; NULL: all.
    since_s DOUBLE,
    jobs BIGINT NOT NULL CHECK (jobs >= 0),
    window_start_s DOUBLE NOT NULL,
    window_end_s DOUBLE NOT NULL,
    policy_name VARCHAR NOT NULL,
    -- Today's Policy and the Cluster (taskgov.policy.model), and the OptimizerSettings.
    policy_json VARCHAR NOT NULL,
    cluster_json VARCHAR NOT NULL,
    settings_json VARCHAR NOT NULL,
    -- optimal, feasible, infeasible, unknown or model_invalid (optimizer.model.solve).
    status VARCHAR NOT NULL,
    solver_parameters VARCHAR NOT NULL,
    -- The Policy with every proposal applied; NULL unless solved.
    proposed_policy_json VARCHAR
);

-- One row per lexicographic solver phase, in order: value, best bound and relative gap.
CREATE TABLE IF NOT EXISTS recommendation_phases (
    run_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    objective VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    value BIGINT,
    bound DOUBLE,
    gap DOUBLE,
    wall_s DOUBLE NOT NULL,
    PRIMARY KEY (run_id, position)
);

-- An infeasible run's minimal set of conflicting named constraints.
CREATE TABLE IF NOT EXISTS recommendation_conflicts (
    run_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    constraint_name VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    PRIMARY KEY (run_id, position)
);

-- The evidence, one number a row. basis 'demand': the demand profile per team and instance type
-- (demand and offered percentiles, guaranteed, borrowed, waited, starved, waits, jobs...);
-- basis 'model': the model's input cell (current count, sustained, peak, largest job, bounds).
CREATE TABLE IF NOT EXISTS recommendation_evidence (
    run_id INTEGER NOT NULL,
    basis VARCHAR NOT NULL CHECK (basis IN ('demand', 'model')),
    team VARCHAR NOT NULL,
    instance_type VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    value DOUBLE,
    PRIMARY KEY (run_id, basis, team, instance_type, metric)
);

-- The plan, per team: current -> proposed, why, and the call that applies it.
CREATE TABLE IF NOT EXISTS recommendation_teams (
    run_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    team VARCHAR NOT NULL,
    changed BOOLEAN NOT NULL,
    current_nominal MAP(VARCHAR, BIGINT) NOT NULL,
    proposed_nominal MAP(VARCHAR, BIGINT) NOT NULL,
    current_borrow_limit_pct INTEGER,
    proposed_borrow_limit_pct INTEGER,
    current_fair_share_weight INTEGER,
    proposed_fair_share_weight INTEGER,
    why VARCHAR[] NOT NULL,
    aws_cli VARCHAR,
    kueue_patch VARCHAR,
    PRIMARY KEY (run_id, team)
);

-- What-if replay per team: each metric under today's policy and under the proposal.
CREATE TABLE IF NOT EXISTS recommendation_effects (
    run_id INTEGER NOT NULL,
    team VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    metric VARCHAR NOT NULL,
    current_value DOUBLE,
    proposed_value DOUBLE,
    PRIMARY KEY (run_id, team, metric)
);

-- What-if replay cluster-wide, per policy replayed ('current', 'proposed'); whole: the number
-- is a count (jobs, preemptions), not a measure.
CREATE TABLE IF NOT EXISTS recommendation_replay (
    run_id INTEGER NOT NULL,
    policy VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    metric VARCHAR NOT NULL,
    value DOUBLE,
    whole BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, policy, metric)
);
