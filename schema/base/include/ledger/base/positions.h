// Positions in ledger.events, for reading one's own writes: for each partition, the
// offset of an event (the last one a writer had acknowledged there). A reader has reached
// a position once it has projected that offset. Text form: "0:41,3:7" (partition:offset,
// comma-separated), as `ledger publish --print-positions` prints it and `min_position`
// takes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "ledger/base/status.h"

namespace ledger {

using Positions = std::map<int, int64_t>;  // partition -> offset

// "0:41,3:7"; "" for none.
std::string FormatPositions(const Positions& positions);

// The positions of `text`; a partition given twice keeps its larger offset. InvalidInput
// naming the item that is not partition:offset (both non-negative integers).
Result<Positions> ParsePositions(std::string_view text);

// How long a reader may wait for positions: 2000 ms unless asked, at most 10000.
inline constexpr std::chrono::milliseconds kDefaultMaxWait{2000}, kMostMaxWait{10000};
// The wait asked for in `text` (milliseconds; "" for the default). InvalidInput naming
// the option `name` when it is not a number from 0 to kMostMaxWait.
Result<std::chrono::milliseconds> ParseMaxWait(std::string_view text, std::string_view name);

// How far behind a partition's end a standby may be to answer (max_lag: a number of
// events). InvalidInput naming the option `name` when `text` is not a number from 0 to
// kMostMaxLag.
inline constexpr int64_t kMostMaxLag = 1'000'000'000'000;
Result<int64_t> ParseMaxLag(std::string_view text, std::string_view name);

}  // namespace ledger
