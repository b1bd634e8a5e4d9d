#include "ledger/producers/audit_log.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "ledger/base/text.h"
#include "ledger/producers/publisher.h"

namespace ledger {
std::string EncodeAuditRecord(const AuditRecord& r) {
  return nlohmann::ordered_json{{"at_ms", r.at_ms},   {"who", r.who},       {"role", r.role},
                                {"action", r.action}, {"target", r.target}, {"result", r.result},
                                {"via", r.via},       {"host", r.host}}
      .dump();
}

Result<AuditRecord> DecodeAuditRecord(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return Status::InvalidInput("an audit record is not a JSON object");
  AuditRecord r;
  try {
    r.at_ms = j.value("at_ms", int64_t{0});
    r.who = j.value("who", "");
    r.role = j.value("role", "");
    r.action = j.at("action").get<std::string>();
    r.target = j.value("target", "");
    r.result = j.value("result", "");
    r.via = j.value("via", "");
    r.host = j.value("host", "");
  } catch (const std::exception& e) {
    return Status::InvalidInput(std::string("an audit record is malformed: ") + e.what());
  }
  return r;
}

Result<std::unique_ptr<AuditLog>> AuditLog::Create(const KafkaSettings& kafka) {
  auto publisher = Publisher::Create(kafka);
  if (!publisher.ok()) return publisher.status();
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->publisher_ = std::move(*publisher);
  return log;
}

AuditLog::~AuditLog() {
  if (Status s = Flush(std::chrono::seconds(5)); !s.ok()) spdlog::warn("{}", s.message());
}

void AuditLog::Record(AuditRecord r) {
  if (r.at_ms == 0) {
    r.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  }
  if (r.host.empty()) r.host = LocalHostName();
  std::lock_guard lock(mu_);
  if (Status s = publisher_->Send(kAuditTopic, r.action, EncodeAuditRecord(r), {}, ++sent_); !s.ok()) {
    spdlog::warn("{}: an audit record not sent: {}", kAuditTopic, s.message());
  }
  publisher_->Poll();
}

Status AuditLog::Flush(std::chrono::milliseconds timeout) {
  std::lock_guard lock(mu_);
  DeliveryReport report = publisher_->Flush(timeout);
  if (!report.refused.empty()) return Status::Refused(std::string(kAuditTopic) + ": " + report.refused);
  if (!report.failed.empty()) {
    return Status::Unavailable(std::string(kAuditTopic) + ": " + std::to_string(report.failed.size()) +
                               " audit record(s) not written: " + report.failed.front().second);
  }
  return Status::Ok();
}

}  // namespace ledger
