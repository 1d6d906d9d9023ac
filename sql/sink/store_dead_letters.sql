-- Stores the batch's dead letters; one redelivered keeps the earliest time it was seen.
-- Parameters: $rows, one STRUCT per letter with the columns of dead_letters (observed_at naive
-- UTC); at least one (the columns are named by the rows).
INSERT INTO dead_letters BY NAME
SELECT * FROM (SELECT unnest($rows, recursive := true))
QUALIFY row_number() OVER (PARTITION BY dead_letter_id ORDER BY observed_at) = 1
ON CONFLICT (dead_letter_id) DO UPDATE
    SET observed_at = least(dead_letters.observed_at, excluded.observed_at);
