// The raw events behind answers. They live in ledger.events itself: Kafka keeps that
// log for ever (retention -1, ops/kafka.sh), so the projection store keeps only where
// each event is (its partition and offset), not a second copy of its bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/kafka/kafka_config.h"

namespace ledger {

class EventLog {
 public:
  virtual ~EventLog() = default;
  // The envelopes at `offsets` of `partition` of ledger.events, by offset. An offset the
  // log does not hold is left out. Fails (Unavailable) when the log cannot be read.
  // Thread-safe.
  virtual Result<std::map<int64_t, std::string>> Read(int partition, std::vector<int64_t> offsets) const = 0;
};

// ledger.events on the brokers of `kafka`, read by offset (assign and seek: no consumer
// group, nothing committed). Connects at the first Read; reads one at a time.
std::unique_ptr<EventLog> KafkaEventLog(const KafkaSettings& kafka);

}  // namespace ledger
