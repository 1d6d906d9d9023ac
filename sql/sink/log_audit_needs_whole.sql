-- Whether the next audit of the aggregates against the log must check everything
-- (sql/views/log_audit_needs_whole.sql). Parameters: none.
SELECT log_audit_needs_whole();
