-- The next Kafka offset the worker will consume, per topic and partition (committed with the
-- events they cover): the consumer's position, to set against the broker's end offsets.
SELECT topic, topic_partition, next_offset
FROM applied_offsets
ORDER BY topic, topic_partition;
