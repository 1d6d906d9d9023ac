-- Records that an audit found nothing through change $through, and forgets the changes it
-- covered (aggregate_changes keeps only what no pass has audited yet).
-- Parameters: $audit VARCHAR (its file's stem), $through BIGINT, $whole BOOLEAN.
INSERT INTO audit_passes VALUES ($audit, $through, $whole, now() AT TIME ZONE 'UTC');

DELETE FROM aggregate_changes WHERE change_id <= $through;
