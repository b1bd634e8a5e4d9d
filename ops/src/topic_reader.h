// A command's read of one of the ledger's single-partition topics (ledger.events.dlq,
// ledger.audit) from an offset to its end as it is now.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/ops/commands.h"

namespace ledger {

struct TopicRecord {
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

// The records of partition 0 of `topic` from `from` (or its start, if later) to its end
// as it is now, read as the consumer group `group` (never committed). NotFound when the
// topic does not exist; Refused (in the user's words) when Kafka refuses the client;
// Unavailable otherwise.
Result<std::vector<TopicRecord>> ReadTopicToEnd(const CommonOptions& common, const std::string& topic,
                                                const std::string& group, int64_t from);

}  // namespace ledger
