#include "dead_letters.h"

#include <spdlog/spdlog.h>

#include "ledger/schema/event_codec.h"

namespace ledger {
namespace {

// Header names on dead-lettered messages: why, and where the message came from.
constexpr const char* kDlqReason = "ledger.dlq.reason";
constexpr const char* kDlqTopic = "ledger.dlq.topic";
constexpr const char* kDlqPartition = "ledger.dlq.partition";
constexpr const char* kDlqOffset = "ledger.dlq.offset";

}  // namespace

Result<std::unique_ptr<DeadLetters>> DeadLetters::Create(const KafkaSettings& kafka, DeadLetterMode mode,
                                                         ProjectorMetrics* metrics) {
  std::unique_ptr<DeadLetters> letters(new DeadLetters(mode, metrics));
  auto publisher = Publisher::Create(kafka);
  if (!publisher.ok()) return publisher.status();
  letters->publisher_ = std::move(*publisher);
  return letters;
}

Status DeadLetters::Send(const RdKafka::Message& m, const std::string& reason) {
  if (mode_ == DeadLetterMode::kCountOnly) return Status::Ok();
  std::string key = m.key() ? *m.key() : "";
  Headers headers = {{kDlqReason, reason},
                     {kDlqTopic, m.topic_name()},
                     {kDlqPartition, std::to_string(m.partition())},
                     {kDlqOffset, std::to_string(m.offset())}};
  std::string_view value(static_cast<const char*>(m.payload()), m.payload() ? m.len() : 0);
  Status s = publisher_->Send(kDeadLetterTopic, key, value, headers, ++tickets_);
  if (!s.ok()) return s;
  ++pending_;
  if (metrics_) metrics_->CountEvents("undecodable", "dead_lettered");
  spdlog::warn("dead-lettered {} [{}] @{}: {}", m.topic_name(), m.partition(), m.offset(), reason);
  return Status::Ok();
}

Status DeadLetters::Flush() {
  if (pending_ == 0) return Status::Ok();
  DeliveryReport r = publisher_->Flush(std::chrono::seconds(30));
  if (!r.failed.empty()) {
    if (metrics_) metrics_->CountError("dead_letter");
    return Status::Unavailable("could not write to " + std::string(kDeadLetterTopic) + ": " +
                               r.failed.front().second);
  }
  pending_ = 0;
  return Status::Ok();
}

}  // namespace ledger
