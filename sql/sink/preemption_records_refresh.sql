-- Replaces the preemption_records of the Workloads a batch touched (as victims) from their
-- events, and renames the preemptor in every record naming a Workload whose identity the batch
-- changed (renamed_preemptors, workload_identities_refresh.sql). Preemptors are looked up in
-- workload_identities by an upsert (the index, not a scan); one with no events yet gets a row
-- without identity, which its first events fill in.
-- Parameters: $first_at TIMESTAMP: none of the touched Workloads' preemptions is earlier, so
-- the delete reads preempted_at's zone maps from there on (the tail).
CREATE OR REPLACE TEMP TABLE touched_preemptions AS
SELECT * FROM touched_workload_events WHERE event_type = 'preempted';

CREATE OR REPLACE TEMP TABLE touched_preemptors AS
WITH named AS (
    INSERT INTO workload_identities
    SELECT DISTINCT
        cluster, preemptor_uid, NULL, NULL, NULL, NULL, false, true
    FROM touched_preemptions
    WHERE preemptor_uid IS NOT NULL
    ON CONFLICT (cluster, uid) DO UPDATE SET named_as_preemptor = true
    RETURNING *
)
SELECT * FROM named;

DELETE FROM preemption_records AS p
USING touched_workloads AS t
WHERE p.preempted_at >= $first_at::TIMESTAMP AND p.cluster = t.cluster AND p.victim_uid = t.uid;

INSERT INTO preemption_records
SELECT * FROM preemptions_of('touched_preemptions', 'touched_preemptors') ORDER BY preempted_at;

UPDATE preemption_records AS p
SET
    preemptor_namespace = r.namespace,
    preemptor_name = r.name,
    preemptor_team = r.team,
    preemptor_priority_class = r.priority_class
FROM renamed_preemptors AS r
WHERE p.cluster = r.cluster AND p.preemptor_uid = r.uid;
