-- The id of each topic DuckDB's offsets were read from, as last seen on the broker.
-- Parameters: none.
SELECT topic, topic_id FROM topic_ids;
