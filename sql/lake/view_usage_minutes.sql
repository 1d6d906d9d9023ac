-- usage_minutes read from the lake (see lake/read_lake.sql).
-- Parameters: none.
ALTER TABLE usage_minutes RENAME TO shape_usage_minutes;
CREATE VIEW usage_minutes AS
FROM lake_relation('shape_usage_minutes', 'lake_usage_minutes');
