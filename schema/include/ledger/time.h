// Times on the wire are UTC RFC 3339 strings; inside they are Unix epoch milliseconds.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace ledger {

using Millis = int64_t;  // Unix epoch milliseconds, UTC

// "Open end": a valid interval that has no end yet.
inline constexpr Millis kForever = std::numeric_limits<Millis>::max();

// Parses "2025-06-01T12:30:00Z", "2025-06-01T12:30:00.250+02:00" or a date alone
// ("2025-06-01" = 00:00 UTC). Rejects impossible dates (2025-02-30) and times,
// naming what is wrong.
Result<Millis> ParseTime(std::string_view text);

// Formats as "2025-06-01T12:30:00Z" (".250" added when there are milliseconds).
// kForever formats as "forever".
std::string FormatTime(Millis t);

// Formats the date part alone: "2025-06-01".
std::string FormatDate(Millis t);

}  // namespace ledger
