// A command's read of a ledger topic that failed, in the user's words.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <string>

#include "ledger/base/status.h"
#include "ledger/kafka/kafka_refusal.h"
#include "ledger/ops/commands.h"

namespace ledger {

// Refused (RefusalMessage: the broker, user and mechanism, never the password) when Kafka
// refuses the client, else Unavailable.
inline Status ReadFailure(const CommonOptions& common, const std::string& topic, RdKafka::ErrorCode code,
                          const std::string& why) {
  if (const RefusalKind kind = RefusalOf(code, why); kind != RefusalKind::kNone) {
    return Status::Refused(RefusalMessage(common.kafka, kind, why + " (" + topic + ")"));
  }
  return Status::Unavailable("cannot read " + topic + " from " + common.kafka.brokers + ": " + why);
}

// The exit code of a failed read: kExitRefused or kExitUnavailable.
inline int ExitOf(const Status& s) { return s.code() == Status::Code::kRefused ? kExitRefused : kExitUnavailable; }

}  // namespace ledger
