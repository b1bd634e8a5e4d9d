#include "ledger/kafka/partitioner.h"

namespace ledger {

int32_t Murmur2(std::string_view key) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const auto length = static_cast<uint32_t>(key.size());
  uint32_t h = 0x9747b28c ^ length;
  for (uint32_t i = 0; i < length / 4; ++i) {
    const uint32_t i4 = i * 4;
    uint32_t k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) |
                 (static_cast<uint32_t>(data[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3:
      h ^= data[tail + 2] << 16;
      [[fallthrough]];
    case 2:
      h ^= data[tail + 1] << 8;
      [[fallthrough]];
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int KafkaPartitionOf(std::string_view key, int partitions) {
  const auto positive = static_cast<uint32_t>(Murmur2(key)) & 0x7fffffff;
  return static_cast<int>(positive % static_cast<uint32_t>(partitions));
}

}  // namespace ledger
