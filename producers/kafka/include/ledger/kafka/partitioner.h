// Kafka's default partitioner (murmur2, as in the Java client): the partition a key is
// written to. Our Publisher uses librdkafka's murmur2_random, which agrees for non-empty
// keys, so any client can tell where an account's events are.
#pragma once

#include <cstdint>
#include <string_view>

namespace ledger {

// Kafka's murmur2 of the key's bytes (org.apache.kafka.common.utils.Utils.murmur2).
int32_t Murmur2(std::string_view key);

// The partition of `key` in a topic of `partitions` partitions (> 0).
int KafkaPartitionOf(std::string_view key, int partitions);

}  // namespace ledger
