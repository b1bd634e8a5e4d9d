// The key layout of a partition's column family. storage/README.md documents it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/uuid.h"

namespace ledger::keys {

inline constexpr std::string_view kNextOffset = "M:next_offset";

// Reference data lives in the column family "reference", addressed as this partition
// number; its keys are the Kafka keys of ledger.reference (ReferenceKey), its offsets
// ReferenceNextOffset(partition of ledger.reference).
inline constexpr int kReferencePartition = -1;
std::string ReferenceNextOffset(int topic_partition);
inline constexpr std::string_view kSeenEventPrefix = "E";

std::string Account(std::string_view account);
std::string Agreement(std::string_view account, std::string_view agreement);
std::string AgreementPrefix(std::string_view account);
std::string SeenEvent(const UuidBytes& id);
std::string EventLog(std::string_view account, int64_t offset);
std::string EventLogPrefix(std::string_view account);
std::string Anomaly(std::string_view account, int64_t offset);
std::string AnomalyPrefix(std::string_view account);

// Big-endian fixed 8 bytes, so that offsets sort numerically.
std::string EncodeOffset(int64_t offset);
int64_t DecodeOffset(std::string_view bytes);

}  // namespace ledger::keys
