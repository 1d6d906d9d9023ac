-- Rebuilds usage_minutes from the minute holding $since up to $until.
-- Parameters: $since TIMESTAMP, $until TIMESTAMP (the watermark).
-- usage_steps must be filled in key and minute order: usage_minutes_from_steps reads it in one
-- running pass (see sql/views/usage_minutes_from_steps.sql). It is a work table, left empty.
DELETE FROM usage_steps;

INSERT INTO usage_steps
SELECT * FROM usage_steps_between($since::TIMESTAMP, $until::TIMESTAMP)
ORDER BY cluster, team, instance_type, minute;

DELETE FROM usage_minutes WHERE minute >= date_trunc('minute', $since::TIMESTAMP);

INSERT INTO usage_minutes SELECT * FROM usage_minutes_from_steps($until::TIMESTAMP);

DELETE FROM usage_steps;
