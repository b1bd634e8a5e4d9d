// Follows the compacted reference topic in full (every projector instance reads all of
// it, like a Kafka Streams GlobalKTable) and stages each record, under its key, in the
// "reference" column family together with the topic offsets.
#pragma once

#include <chrono>

#include "ledger/kafka/kafka_refusal.h"

#include <librdkafka/rdkafkacpp.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "ledger/base/status.h"
#include "ledger/kafka/kafka_config.h"
#include "ledger/storage/projection_store.h"

namespace ledger {

class ReferenceFollower {
 public:
  // Called for a message that does not verify as reference data.
  using DeadLetter = std::function<Status(RdKafka::Message&, const std::string& reason)>;

  // Assigns every partition of the reference topic from the offsets in `store`. With
  // `stop_at`, reads each partition only up to that offset (0 if not listed).
  static Result<std::unique_ptr<ReferenceFollower>> Create(
      const KafkaSettings& kafka, const std::string& group_id, ProjectionStore* store,
      std::optional<std::map<int, int64_t>> stop_at, DeadLetter dead_letter);
  ~ReferenceFollower();

  // Stages what has arrived (at most `max` records) into `batch`; never waits.
  Result<size_t> Poll(StagedBatch* batch, size_t max);

  // True once every partition is read up to its end as it was at Create.
  bool CaughtUp() const;

  // Whether its partitions are assigned (not yet when Kafka refused it at the start).
  bool assigned() const { return assigned_; }
  // Whether Kafka refused this consumer (credentials, TLS, ACL), and its words.
  const RefusalWatch& refusals() const { return refusals_; }

 private:
  ReferenceFollower() = default;
  // Reads the topic's partitions and assigns them from the store's offsets.
  Status Assign();

  KafkaSettings kafka_;
  ProjectionStore* store_ = nullptr;
  std::optional<std::map<int, int64_t>> stop_at_;
  RefusalWatch refusals_;  // declared before the consumer, which calls it
  bool assigned_ = false;
  std::chrono::steady_clock::time_point last_try_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  DeadLetter dead_letter_;
  std::map<int, int64_t> next_, target_;
  bool limited_ = false;  // target_ is a limit, not just "caught up"
};

}  // namespace ledger
