// Event ids are UUIDs (version 7 when the ledger makes one: time-ordered).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/base/status.h"

namespace ledger {

using UuidBytes = std::array<uint8_t, 16>;

// Parses the canonical 36-character form "0190c8a2-7b4e-7cc1-8e0a-3b1f2a9d4c5e".
Result<UuidBytes> ParseUuid(std::string_view text);
std::string FormatUuid(const UuidBytes& id);
// A new UUIDv7 for the given Unix time in milliseconds. Thread-safe.
UuidBytes NewUuidV7(int64_t unix_millis);

}  // namespace ledger
