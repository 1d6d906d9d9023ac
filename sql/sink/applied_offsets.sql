-- The next Kafka offset to consume per (topic, partition), as committed with the events.
-- Parameters: none.
SELECT topic, topic_partition, next_offset FROM applied_offsets;
