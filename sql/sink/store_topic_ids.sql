-- Records the id the broker gives each topic (a topic DuckDB has read nothing from, or one seen
-- for the first time). Parameters, one list entry per topic: $topic, $topic_id, $seen_at.
INSERT INTO topic_ids
SELECT unnest($topic::VARCHAR[]), unnest($topic_id::VARCHAR[]), $seen_at::TIMESTAMP
ON CONFLICT (topic) DO UPDATE SET topic_id = excluded.topic_id, seen_at = excluded.seen_at;
