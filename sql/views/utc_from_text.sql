-- utc_from_text(text): an ISO 8601 time written by pydantic, as a UTC TIMESTAMP without a zone.
-- With a zone (Z or +hh:mm) it is converted to UTC; without one it is UTC already, whatever the
-- session's TimeZone setting. Used by the sink when it parses events from JSON.
CREATE OR REPLACE MACRO utc_from_text(text) AS
    CASE
        WHEN regexp_matches(text, '(Z|[+-][0-9][0-9]:?[0-9][0-9])$')
            THEN timezone('UTC', CAST(text AS TIMESTAMPTZ))
        ELSE CAST(text AS TIMESTAMP)
    END;
