// Untrusted text made safe to show: in a log line, an error message, a Kafka header.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ledger {

// `text` with every control character (and DEL) written as \xNN and a backslash as \\,
// cut after `max_bytes` bytes of the input with " … (N bytes)" appended. Bytes of UTF-8
// pass unchanged.
std::string Printable(std::string_view text, size_t max_bytes = 256);

}  // namespace ledger
