-- log_audit_needs_whole(): whether the audit of the aggregates against the log
-- (sql/audits/assert_aggregates_match_log.sql) has to check everything: no pass recorded yet,
-- or a refresh since the last pass rewrote every Workload (a rebuild, recorded with no uids).
-- The audit decides its scope with it, and the worker asks it first, since a whole audit
-- costs the history (minutes at 10M events) and the worker's batches would wait for it.
CREATE OR REPLACE MACRO log_audit_needs_whole() AS (
    NOT EXISTS (SELECT 1 FROM audit_passes WHERE audit = 'assert_aggregates_match_log')
    OR EXISTS (
        SELECT 1 FROM aggregate_changes
        WHERE uids IS NULL
            AND change_id > (
                SELECT max(through_change) FROM audit_passes
                WHERE audit = 'assert_aggregates_match_log'
            )
    )
);
