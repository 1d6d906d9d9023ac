-- Moves the watermark (the caller never moves it back).
-- Parameters: $watermark TIMESTAMP.
INSERT OR REPLACE INTO aggregate_state VALUES ('watermark', $watermark::TIMESTAMP);
