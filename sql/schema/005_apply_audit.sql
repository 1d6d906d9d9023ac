-- owner: optimizer
-- Applies of recommendations (and rollbacks) to a governance API: `taskgov apply`,
-- `taskgov rollback`. One row per attempt in apply_runs (dry runs and refusals too), one per
-- object call in apply_objects with the exact request and response and the object before and
-- after, one per guardrail refusal in apply_refusals. Written by optimizer/appliers/audit.py,
-- one transaction per attempt. JSON columns hold the API's own shapes as JSON text.

CREATE TABLE IF NOT EXISTS apply_runs (
    apply_id INTEGER PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    -- The recommendation applied; NULL for a rollback.
    run_id INTEGER,
    -- The apply a rollback restores; NULL for an apply.
    rollback_of INTEGER,
    backend VARCHAR NOT NULL CHECK (backend IN ('sagemaker', 'kueue')),
    endpoint VARCHAR NOT NULL,
    -- The AWS caller identity's ARN or the Kubernetes user.
    caller VARCHAR NOT NULL,
    cluster VARCHAR NOT NULL,
    approved BOOLEAN NOT NULL,
    outcome VARCHAR NOT NULL CHECK (
        outcome IN ('dry-run', 'applied', 'unchanged', 'refused', 'conflict', 'failed', 'partial')
    ),
    notes VARCHAR[] NOT NULL
);

CREATE TABLE IF NOT EXISTS apply_objects (
    apply_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    team VARCHAR,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    operation VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL CHECK (
        outcome IN ('dry-run', 'applied', 'unchanged', 'conflict', 'failed', 'not-attempted')
    ),
    before_json VARCHAR,
    after_json VARCHAR NOT NULL,
    request_json VARCHAR NOT NULL,
    response_json VARCHAR,
    error VARCHAR,
    PRIMARY KEY (apply_id, position)
);

CREATE TABLE IF NOT EXISTS apply_refusals (
    apply_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    guardrail VARCHAR NOT NULL,
    team VARCHAR,
    detail VARCHAR NOT NULL,
    PRIMARY KEY (apply_id, position)
);
