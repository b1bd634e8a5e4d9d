// JSON that users and upstream systems send (event lines, token records, announcements),
// parsed within bounds: nesting depth, string, object and array sizes, number ranges, and
// no key given twice. A document past a bound is rejected before any tree is built, so
// one bad line costs memory and time proportional to its length, never more.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ledger/base/status.h"

namespace ledger {

struct JsonLimits {
  // Objects and arrays inside one another; the document itself is level 1.
  int max_depth = 16;
  // Bytes of one string or key.
  size_t max_string_bytes = 64 * 1024;
  // Members of one object, or items of one array.
  size_t max_items = 10'000;
  // Values in the whole document (objects, arrays, strings, numbers, ...).
  size_t max_values = 100'000;
};

// Parses `text` as one JSON value within `limits`. Rejects (kInvalidInput, naming the
// path and the bound) what is not JSON, what exceeds a bound, a key given twice in one
// object, and a number that is not finite or beyond a 64-bit integer. Thread-safe.
Result<nlohmann::ordered_json> ParseJsonInput(std::string_view text, const JsonLimits& limits = {});

}  // namespace ledger
