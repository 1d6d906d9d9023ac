-- Which Kafka topic DuckDB's offsets were read from, by the topic's id (KIP-516; Tansu and
-- Apache Kafka >= 2.8 give each topic a UUID). A topic deleted and created again under the same
-- name gets a new id and starts its offsets over; when the new topic already holds more records
-- than DuckDB read, the offsets alone cannot show it. The worker compares on every assignment
-- (streams.broker_health, taskgov.store.topic_ids).
CREATE TABLE IF NOT EXISTS topic_ids (
    topic VARCHAR PRIMARY KEY,
    topic_id VARCHAR NOT NULL,
    seen_at TIMESTAMP NOT NULL
);
