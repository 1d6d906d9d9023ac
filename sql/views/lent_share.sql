-- lent_share(unused, cohort_unused, cohort_borrowed): what one cohort member lends, by the
-- lent rule of usage_minutes_from_steps: min(cohort_unused, cohort_borrowed) apportioned by
-- the member's unused guarantee. All of it when the cohort borrows at least what is unused
-- (exact, no division); none when nobody in the cohort both borrows and leaves guarantee
-- unused (NULLs).
CREATE OR REPLACE MACRO lent_share(unused, cohort_unused, cohort_borrowed) AS
    CASE
        WHEN cohort_unused IS NULL OR cohort_borrowed IS NULL OR unused = 0
            OR cohort_unused = 0 OR cohort_borrowed = 0 THEN 0.0
        WHEN cohort_borrowed >= cohort_unused THEN unused::DOUBLE
        ELSE cohort_borrowed::DOUBLE * unused::DOUBLE / cohort_unused::DOUBLE
    END;
