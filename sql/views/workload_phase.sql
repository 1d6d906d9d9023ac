-- workload_phase(event_type): what a Workload is doing after an event of this type.
-- 'admitted' holds quota: Kueue counts a Workload's usage from QuotaReserved, so quota_reserved
-- starts it (admitted follows once admission checks pass). 'done' ends the Workload's life.
-- A preempted or evicted Workload is pending again: it wants to run and waits for readmission.
CREATE OR REPLACE MACRO workload_phase(event_type) AS
    CASE
        WHEN event_type IN ('quota_reserved', 'admitted') THEN 'admitted'
        WHEN event_type IN ('finished', 'deleted') THEN 'done'
        ELSE 'pending'
    END;

-- workload_event_rank(event_type): the order of a Workload's events that share an occurred_at
-- (Kueue's condition times have one-second resolution), following the Workload's life cycle.
CREATE OR REPLACE MACRO workload_event_rank(event_type) AS
    CASE event_type
        WHEN 'submitted' THEN 0
        WHEN 'preempted' THEN 1
        WHEN 'evicted' THEN 2
        WHEN 'requeued' THEN 3
        WHEN 'pending' THEN 4
        WHEN 'quota_reserved' THEN 5
        WHEN 'admitted' THEN 6
        WHEN 'finished' THEN 7
        ELSE 8
    END;
