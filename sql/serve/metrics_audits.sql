-- The log-vs-aggregates audit (assert_aggregates_match_log) as the worker runs it every
-- audit_every_s: when it last passed (NULL: never), and the changes of the aggregates no pass has
-- covered yet, with the oldest one's time. A pass forgets the changes it covered, so changes
-- older than a few intervals mean the audits find rows or do not run.
SELECT
    'assert_aggregates_match_log' AS audit,
    (SELECT max(passed_at) FROM audit_passes WHERE audit = 'assert_aggregates_match_log')
        AS last_pass_at,
    count(*) AS unaudited_changes,
    min(recorded_at) AS oldest_unaudited_at
FROM aggregate_changes;
