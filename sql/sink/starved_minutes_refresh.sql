-- Rewrites starved_minutes from the minute holding $since on, after usage_minutes was
-- rewritten from there (refresh_minutes.sql): it reads only those minutes (usage_minutes is
-- appended in minute order, so its zone maps skip the rest).
-- Parameters: $since TIMESTAMP.
DELETE FROM starved_minutes WHERE minute >= date_trunc('minute', $since::TIMESTAMP);

INSERT INTO starved_minutes
SELECT * FROM starved_minutes_from(date_trunc('minute', $since::TIMESTAMP))
ORDER BY minute;
