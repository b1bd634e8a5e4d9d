// The audit trail on ledger.audit (ledger/producers/audit_log.h): the commands that
// change what Kafka allows or holds record themselves there; `ledger audit` lists it.
#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <cstdlib>
#include <ostream>

#include "ledger/kafka/kafka_acls.h"
#include "ledger/kafka/kafka_refusal.h"
#include "ledger/ops/commands.h"
#include "ledger/producers/audit_log.h"
#include "read_failure.h"
#include "topic_reader.h"

namespace ledger {
namespace {

// Who runs a command: the Kafka user of its properties, else the login.
std::string CommandUser(const CommonOptions& common) {
  if (!common.kafka.properties_file.empty()) {
    auto props = ReadKafkaProperties(common.kafka.properties_file);
    if (props.ok()) {
      for (const auto& [k, v] : *props) {
        if (k == "sasl.username") return v;
      }
    }
  }
  const char* user = std::getenv("USER");
  return user != nullptr ? user : "";
}

}  // namespace

void RecordCommand(const CommonOptions& common, const std::string& action, const std::string& target,
                   const std::string& result, std::ostream& err) {
  auto log = AuditLog::Create(common.kafka);
  if (!log.ok()) {
    err << "ledger: not recorded on " << kAuditTopic << ": " << log.status().message() << "\n";
    return;
  }
  (*log)->Record({0, CommandUser(common), "", action, target, result, "cli", ""});
  if (Status s = (*log)->Flush(std::chrono::seconds(5)); !s.ok()) {
    err << "ledger: not recorded on " << kAuditTopic << ": " << s.message() << "\n";
  }
}

int RunAuditList(const CommonOptions& common, int64_t from, std::ostream& out, std::ostream& err) {
  auto records = ReadTopicToEnd(common, std::string(kAuditTopic), OperatorGroupPrefix(common.group) + ".audit", from);
  if (!records.ok()) {
    err << "ledger audit: " << records.status().message() << "\n";
    return records.status().code() == Status::Code::kInvalidInput ? kExitUsage : ExitOf(records.status());
  }
  for (const auto& r : *records) out << r.value << "\n";
  return kExitOk;
}

}  // namespace ledger
