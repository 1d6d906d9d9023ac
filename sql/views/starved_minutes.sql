-- starved_minutes_from(since_at): per team, instance type and minute from since_at on (NULL:
-- all), summed over clusters, the minutes a team was starved: pending demand while under its
-- guarantee (pending > 0 and used < nominal). What the sink keeps as starved_minutes and the
-- starvation report reads.
CREATE OR REPLACE MACRO starved_minutes_from(since_at) AS TABLE
SELECT *
FROM (
    SELECT
        team,
        instance_type,
        minute,
        sum(nominal_accelerators) AS nominal,
        sum(used_accelerators) AS used,
        sum(pending_accelerators) AS pending
    FROM usage_minutes_in(since_at, NULL, NULL)
    GROUP BY team, instance_type, minute
)
WHERE pending > 0 AND used < nominal;
