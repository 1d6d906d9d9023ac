-- usage_minutes_in(since_at, until_at, of_team): the usage_minutes rows the usage reports count:
-- minutes from since_at (inclusive) to until_at (exclusive) of of_team, each bound NULL for
-- none, and only instance types Kueue has named (pending demand of an unnamed one belongs to no
-- capacity).
CREATE OR REPLACE MACRO usage_minutes_in(since_at, until_at, of_team) AS TABLE
SELECT *
FROM usage_minutes
WHERE instance_type IS NOT NULL
    AND (since_at IS NULL OR minute >= since_at)
    AND (until_at IS NULL OR minute < until_at)
    AND (of_team IS NULL OR team = of_team);
