// Publishes messages to Kafka with an idempotent producer (acks=all): retries never
// duplicate or reorder a partition's messages. produce() only enqueues; the outcome of
// every message arrives later and is returned by Flush() (or TakeReport()).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ledger/base/positions.h"
#include "ledger/base/status.h"
#include "ledger/kafka/kafka_config.h"
#include "ledger/kafka/kafka_refusal.h"
#include "ledger/schema/event_codec.h"

namespace RdKafka {
class Producer;
}

namespace ledger {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Header names set on every event message.
inline constexpr const char* kHeaderType = "ledger.type";
inline constexpr const char* kHeaderSchemaVersion = "ledger.schema_version";
inline constexpr const char* kHeaderEventId = "ledger.event_id";

// What happened to the messages sent since the last report.
struct DeliveryReport {
  uint64_t delivered = 0;                                // acknowledged by the broker
  std::vector<std::pair<uint64_t, std::string>> failed;  // (ticket, reason)
  Positions positions;  // ledger.events: the last offset acknowledged in each partition
  // Non-empty when a broker refused this client (credentials, TLS or an ACL): what
  // happened, in the user's words (RefusalMessage; never the password).
  std::string refused;
};

class Publisher {
 public:
  // Fails if the configuration is invalid. Does not wait for the broker: an unreachable
  // broker shows up as failed deliveries.
  static Result<std::unique_ptr<Publisher>> Create(const KafkaSettings& settings);
  ~Publisher();

  // Enqueues one message; `ticket` (the caller's number for it) names it in the report.
  // Waits, serving delivery reports, while the local queue is full. Fails on invalid
  // arguments or after a fatal producer error. Not thread-safe.
  Status Send(std::string_view topic, std::string_view key, std::string_view value,
              const Headers& headers, uint64_t ticket);

  // Sends an encoded event to its topic with its key and the ledger headers.
  Status Send(const EncodedEvent& event, uint64_t ticket);

  // Waits up to `timeout` until every message sent is acknowledged or failed; any still
  // in flight then is reported as failed. Returns (and clears) the report.
  DeliveryReport Flush(std::chrono::milliseconds timeout);

  // Serves delivery reports without waiting.
  void Poll();

  // Messages sent and not yet acknowledged or failed.
  size_t in_flight() const { return in_flight_.size(); }

 private:
  class DeliveryHandler;

  Publisher();

  std::unique_ptr<DeliveryHandler> delivery_;
  std::unique_ptr<RefusalWatch> errors_;
  KafkaSettings settings_;  // for the words of a refusal
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unordered_set<uint64_t> in_flight_;
  DeliveryReport report_;
};

}  // namespace ledger
