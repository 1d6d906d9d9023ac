-- Stores the batch's dead letters; one redelivered keeps the earliest time it was seen.
-- Parameters, one list entry per letter: $dead_letter_id, $schema_version, $cluster, $kind,
-- $reason, $raw, $observed_at (naive UTC).
INSERT INTO dead_letters
SELECT * FROM (
    SELECT
        unnest($dead_letter_id::VARCHAR[]) AS dead_letter_id,
        unnest($schema_version::INTEGER[]) AS schema_version,
        unnest($cluster::VARCHAR[]) AS cluster,
        unnest($kind::VARCHAR[]) AS kind,
        unnest($reason::VARCHAR[]) AS reason,
        unnest($raw::VARCHAR[]) AS raw,
        unnest($observed_at::TIMESTAMP[]) AS observed_at
)
QUALIFY row_number() OVER (PARTITION BY dead_letter_id ORDER BY observed_at) = 1
ON CONFLICT (dead_letter_id) DO UPDATE
    SET observed_at = least(dead_letters.observed_at, excluded.observed_at);
