// The audit trail on Kafka: who did what, when, and with what result, as JSON records on
// the topic ledger.audit (one partition, kept forever; readable by the operator
// principal). Records admin calls over HTTP, ACL applies and re-drives of dead letters.
// A record never holds a secret: no token, no password, no request body.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "ledger/base/status.h"
#include "ledger/kafka/kafka_acls.h"
#include "ledger/kafka/kafka_config.h"

namespace ledger {

class Publisher;

struct AuditRecord {
  int64_t at_ms = 0;    // when, ms since the epoch
  std::string who;      // the token's or Kafka user's name ("" if none was valid)
  std::string role;     // its role (analyst, operator, publisher, admin), if known
  std::string action;   // e.g. "POST /v1/admin/checkpoint", "acls apply", "dlq replay"
  std::string target;   // what it acted on (parameters, a group), secrets never
  std::string result;   // "ok", or why not (an HTTP status, an error)
  std::string via;      // "http" or "cli"
  std::string host;     // where it ran
};

// The record as one JSON object (its fields by name).
std::string EncodeAuditRecord(const AuditRecord& r);
// Back from JSON; InvalidInput naming what is wrong.
Result<AuditRecord> DecodeAuditRecord(std::string_view json);

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> Create(const KafkaSettings& kafka);
  ~AuditLog();  // waits up to 5 s for what is in flight

  // Sends a record (at_ms and host filled in when empty). Thread-safe; does not wait.
  void Record(AuditRecord r);
  // Waits until every record sent is written or failed; Unavailable/Refused naming the
  // first failure.
  Status Flush(std::chrono::milliseconds timeout);

 private:
  AuditLog() = default;
  std::mutex mu_;
  std::unique_ptr<Publisher> publisher_;
  uint64_t sent_ = 0;
};

}  // namespace ledger
