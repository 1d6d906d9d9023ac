-- multiset_differences(derived, stored): the rows on which two tables of the same columns
-- disagree, as bags (what `derived EXCEPT ALL stored` and `stored EXCEPT ALL derived` give),
-- each tagged problem 'missing' (derived but not stored) or 'extra' (stored but not derived)
-- and repeated as often as it is missing or extra. derived and stored name a table, view or CTE.
-- The audits compare a materialized table with its derivation: each side is read once, tagged
-- +1 or -1 (bag_side) and counted in one grouping, where two EXCEPT ALLs read both sides twice.
-- Neither table may have a column named bag_side, bag_surplus or bag_copy.
CREATE OR REPLACE MACRO multiset_differences(derived, stored) AS TABLE
SELECT
    CASE WHEN bag_surplus > 0 THEN 'missing' ELSE 'extra' END AS problem,
    * EXCLUDE (bag_surplus, bag_copy)
FROM (
    SELECT *, unnest(range(abs(bag_surplus))) AS bag_copy
    FROM (
        SELECT * EXCLUDE (bag_side), CAST(sum(bag_side) AS BIGINT) AS bag_surplus
        FROM (
            SELECT 1 AS bag_side, * FROM query_table(derived)
            UNION ALL
            SELECT -1, * FROM query_table(stored)
        )
        GROUP BY ALL
        HAVING sum(bag_side) <> 0
    )
);
