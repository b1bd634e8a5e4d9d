#include "dead_letters.h"

#include <spdlog/spdlog.h>

#include "ledger/base/text.h"

namespace ledger {

Result<std::unique_ptr<DeadLetters>> DeadLetters::Create(const KafkaSettings& kafka, std::string topic,
                                                         DeadLetterMode mode, ProjectorMetrics* metrics) {
  std::unique_ptr<DeadLetters> letters(new DeadLetters(std::move(topic), mode, metrics));
  auto publisher = Publisher::Create(kafka);
  if (!publisher.ok()) return publisher.status();
  letters->publisher_ = std::move(*publisher);
  return letters;
}

void DeadLetters::Send(const RdKafka::Message& m, const std::string& reason) {
  if (mode_ == DeadLetterMode::kCountOnly) return;
  const std::string_view key(static_cast<const char*>(m.key_pointer()), m.key_pointer() ? m.key_len() : 0);
  const std::string_view value(static_cast<const char*>(m.payload()), m.payload() ? m.len() : 0);
  Letter letter;
  letter.key = std::string(key.substr(0, kDeadLetterMaxKey));
  letter.value = std::string(value.substr(0, kDeadLetterMaxPayload));
  letter.headers = {{kDlqReason, Printable(reason, kDeadLetterMaxReason)},
                    {kDlqTopic, m.topic_name()},
                    {kDlqPartition, std::to_string(m.partition())},
                    {kDlqOffset, std::to_string(m.offset())}};
  if (value.size() > kDeadLetterMaxPayload) letter.headers.emplace_back(kDlqPayloadBytes, std::to_string(value.size()));
  if (key.size() > kDeadLetterMaxKey) letter.headers.emplace_back(kDlqKeyBytes, std::to_string(key.size()));
  const uint64_t ticket = ++tickets_;
  Enqueue(ticket, letters_[ticket] = std::move(letter));
  if (metrics_) metrics_->CountEvents("undecodable", "dead_lettered");
  spdlog::warn("dead-lettered {} [{}] @{}: {}", m.topic_name(), m.partition(), m.offset(),
               Printable(reason, kDeadLetterMaxReason));
}

void DeadLetters::Enqueue(uint64_t ticket, Letter& letter) {
  Status s = publisher_->Send(topic_, letter.key, letter.value, letter.headers, ticket);
  letter.enqueued = s.ok();
  if (!s.ok()) last_refusal_ = s.message();
}

Status DeadLetters::Flush(std::chrono::milliseconds timeout) {
  if (letters_.empty()) return Status::Ok();
  for (auto& [ticket, letter] : letters_) {
    if (!letter.enqueued) Enqueue(ticket, letter);
  }
  DeliveryReport r = publisher_->Flush(timeout);
  std::string why;
  for (const auto& [ticket, reason] : r.failed) {
    auto it = letters_.find(ticket);
    if (it != letters_.end()) it->second.enqueued = false;
    if (why.empty()) why = reason;
  }
  for (auto it = letters_.begin(); it != letters_.end();) {
    it = it->second.enqueued ? letters_.erase(it) : std::next(it);  // acknowledged
  }
  if (letters_.empty()) return Status::Ok();
  if (metrics_) metrics_->CountError("dead_letter");
  if (why.empty()) why = last_refusal_;
  return Status::Unavailable(std::to_string(letters_.size()) + " dead letter(s) not written to " + topic_ + ": " +
                             why);
}

}  // namespace ledger
