// Times on the wire are UTC RFC 3339 strings; inside they are Unix epoch milliseconds.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "ledger/base/status.h"

namespace ledger {

using Millis = int64_t;  // Unix epoch milliseconds, UTC

// "Open end": a valid interval that has no end yet.
inline constexpr Millis kForever = std::numeric_limits<Millis>::max();

// The times the ledger reads and writes: 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
inline constexpr Millis kEarliestTime = -62167219200000;
inline constexpr Millis kLatestTime = 253402300799999;

// The times a user or upstream system may write (ParseTime): years 1971 to 9999 in UTC.
// 1970 is left out: 0 means "unset" in an event, and a time in seconds read as
// milliseconds lands there.
inline constexpr Millis kFirstAcceptedTime = 31536000000;  // 1971-01-01T00:00:00Z

// Parses "2025-06-01T12:30:00Z", "2025-06-01T12:30:00.250+02:00" or a date alone
// ("2025-06-01" = 00:00 UTC). Rejects impossible dates (2025-02-30) and times, and times
// outside kFirstAcceptedTime..kLatestTime once in UTC, naming what is wrong.
Result<Millis> ParseTime(std::string_view text);

// The system clock now.
Millis NowMillis();

// Formats as "2025-06-01T12:30:00Z" (".250" added when there are milliseconds).
// kForever formats as "forever"; another time outside kEarliestTime..kLatestTime as
// "invalid-time(N)".
std::string FormatTime(Millis t);

// Formats the date part alone: "2025-06-01".
std::string FormatDate(Millis t);

}  // namespace ledger
