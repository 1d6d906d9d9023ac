-- ceil_minute(t): the first minute boundary at or after t.
CREATE OR REPLACE MACRO ceil_minute(t) AS
    CASE
        WHEN date_trunc('minute', t) = t THEN t
        ELSE date_trunc('minute', t) + INTERVAL 1 MINUTE
    END;
