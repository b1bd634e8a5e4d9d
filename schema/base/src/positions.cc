#include "ledger/base/positions.h"

#include <algorithm>
#include <charconv>

namespace ledger {

std::string FormatPositions(const Positions& positions) {
  std::string out;
  for (const auto& [partition, offset] : positions) {
    if (!out.empty()) out += ',';
    out += std::to_string(partition) + ":" + std::to_string(offset);
  }
  return out;
}

namespace {

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= 0;
}

}  // namespace

Result<Positions> ParsePositions(std::string_view text) {
  Positions out;
  for (bool more = !text.empty(); more;) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    more = comma != std::string_view::npos;
    if (more) text.remove_prefix(comma + 1);
    const size_t colon = item.find(':');
    int partition = 0;
    int64_t offset = 0;
    if (colon == std::string_view::npos || !ParseNumber(item.substr(0, colon), partition) ||
        !ParseNumber(item.substr(colon + 1), offset)) {
      return Status::InvalidInput("min_position: \"" + std::string(item.substr(0, 64)) +
                                  "\" is not partition:offset (e.g. 0:41,3:7, as ledger publish "
                                  "--print-positions prints them)");
    }
    auto [it, added] = out.emplace(partition, offset);
    if (!added) it->second = std::max(it->second, offset);
  }
  return out;
}

Result<std::chrono::milliseconds> ParseMaxWait(std::string_view text, std::string_view name) {
  if (text.empty()) return kDefaultMaxWait;
  int64_t ms = -1;
  if (!ParseNumber(text, ms) || ms > kMostMaxWait.count()) {
    return Status::InvalidInput(std::string(name) + ": \"" + std::string(text.substr(0, 32)) +
                                "\" is not a number of milliseconds from 0 to " + std::to_string(kMostMaxWait.count()));
  }
  return std::chrono::milliseconds(ms);
}

Result<int64_t> ParseMaxLag(std::string_view text, std::string_view name) {
  int64_t events = -1;
  if (!ParseNumber(text, events) || events > kMostMaxLag) {
    return Status::InvalidInput(std::string(name) + ": \"" + std::string(text.substr(0, 32)) +
                                "\" is not a number of events from 0 to " + std::to_string(kMostMaxLag));
  }
  return events;
}

}  // namespace ledger
