// Dead letters: a message the projector cannot apply is copied, with why and where it
// came from, to ledger.events.dlq, so that nothing consumed is lost and the partition
// goes on. A dead letter always fits in a Kafka message: what it copies is capped (the
// payload, the key, the reason), and a header says what was cut.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <string>

#include "ledger/base/status.h"
#include "ledger/kafka/kafka_config.h"
#include "ledger/producers/publisher.h"
#include "ledger/projector/projector_metrics.h"

namespace ledger {

// Whether dead letters are written or only counted (a replay that must not write twice
// what the live projector already wrote).
enum class DeadLetterMode { kSend, kCountOnly };

// What a dead letter copies at most.
inline constexpr size_t kDeadLetterMaxPayload = 512 * 1024;
inline constexpr size_t kDeadLetterMaxKey = 1024;
inline constexpr size_t kDeadLetterMaxReason = 1024;

// Header names on dead letters.
inline constexpr const char* kDlqReason = "ledger.dlq.reason";
inline constexpr const char* kDlqTopic = "ledger.dlq.topic";
inline constexpr const char* kDlqPartition = "ledger.dlq.partition";
inline constexpr const char* kDlqOffset = "ledger.dlq.offset";
// Set only when cut: the original size in bytes of the payload, of the key.
inline constexpr const char* kDlqPayloadBytes = "ledger.dlq.payload_bytes";
inline constexpr const char* kDlqKeyBytes = "ledger.dlq.key_bytes";

class DeadLetters {
 public:
  // Fails if the producer cannot be configured. `topic` is where dead letters go
  // (ledger.events.dlq). `metrics` may be null.
  static Result<std::unique_ptr<DeadLetters>> Create(const KafkaSettings& kafka, std::string topic,
                                                     DeadLetterMode mode, ProjectorMetrics* metrics);

  // Enqueues the message's dead letter and keeps a copy until the broker acknowledges
  // it (see Flush). A refusal by the producer is not an error here: the letter is kept
  // and sent again by Flush.
  void Send(const RdKafka::Message& m, const std::string& reason);

  // Sends again what was refused or failed, and waits up to `timeout` until every dead
  // letter is acknowledged. Fails (Unavailable, naming the topic and the broker's
  // reason) while one is not; the letters not acknowledged are kept for the next call.
  Status Flush(std::chrono::milliseconds timeout);

  // Dead letters not yet acknowledged.
  size_t unacknowledged() const { return letters_.size(); }

 private:
  struct Letter {
    std::string key, value;
    Headers headers;
    bool enqueued = false;  // handed to the producer (else to be sent again)
  };
  DeadLetters(std::string topic, DeadLetterMode mode, ProjectorMetrics* metrics)
      : topic_(std::move(topic)), mode_(mode), metrics_(metrics) {}
  void Enqueue(uint64_t ticket, Letter& letter);

  std::string topic_;
  DeadLetterMode mode_;
  ProjectorMetrics* metrics_;
  std::unique_ptr<Publisher> publisher_;
  std::map<uint64_t, Letter> letters_;  // by ticket, until acknowledged
  std::string last_refusal_;            // why the producer last refused one
  uint64_t tickets_ = 0;
};

}  // namespace ledger
