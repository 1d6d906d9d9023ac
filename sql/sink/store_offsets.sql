-- Records the next Kafka offset to consume per partition, never moving one back.
-- Parameters, one list entry per partition: $topic, $partition, $next_offset.
INSERT INTO applied_offsets
SELECT unnest($topic::VARCHAR[]), unnest($partition::INTEGER[]), unnest($next_offset::BIGINT[])
ON CONFLICT (topic, topic_partition) DO UPDATE
    SET next_offset = greatest(applied_offsets.next_offset, excluded.next_offset);
