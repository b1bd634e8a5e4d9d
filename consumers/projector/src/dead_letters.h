// Dead letters: a message the projector cannot apply is copied, with why and where it
// came from, to ledger.dlq, so that nothing consumed is lost and the partition goes on.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>

#include "ledger/base/status.h"
#include "ledger/kafka/kafka_config.h"
#include "ledger/producers/publisher.h"
#include "ledger/projector/projector_metrics.h"

namespace ledger {

// Whether dead letters are written to ledger.dlq or only counted (a replay that must not
// write twice what the live projector already wrote).
enum class DeadLetterMode { kSend, kCountOnly };

class DeadLetters {
 public:
  // Fails if the producer cannot be configured. `metrics` may be null.
  static Result<std::unique_ptr<DeadLetters>> Create(const KafkaSettings& kafka, DeadLetterMode mode,
                                                     ProjectorMetrics* metrics);

  // Enqueues the message's dead letter. Not yet acknowledged: see Flush. Fails only if
  // the producer refuses the message.
  Status Send(const RdKafka::Message& m, const std::string& reason);

  // Waits until every dead letter sent is acknowledged by the broker; fails (and counts
  // a dead_letter error) if one was not.
  Status Flush();

 private:
  DeadLetters(DeadLetterMode mode, ProjectorMetrics* metrics) : mode_(mode), metrics_(metrics) {}

  DeadLetterMode mode_;
  ProjectorMetrics* metrics_;
  std::unique_ptr<Publisher> publisher_;
  size_t pending_ = 0;  // sent, not yet flushed
  uint64_t tickets_ = 0;
};

}  // namespace ledger
