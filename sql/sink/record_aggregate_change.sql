-- Records what one refresh of the aggregates rewrote, for the incremental audit.
-- Parameters: $clusters VARCHAR[], $uids VARCHAR[]: the Workloads whose intervals and waits
-- were rewritten (NULL: all); $first_at TIMESTAMP: none of their rows starts before it;
-- $since TIMESTAMP: the first minute of usage_minutes rewritten.
INSERT INTO aggregate_changes
VALUES (
    nextval('aggregate_change_ids'),
    $clusters::VARCHAR[],
    $uids::VARCHAR[],
    $first_at::TIMESTAMP,
    $since::TIMESTAMP,
    now() AT TIME ZONE 'UTC'
);
