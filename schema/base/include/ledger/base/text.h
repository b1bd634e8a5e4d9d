// Untrusted text made safe to show: in a log line, an error message, a Kafka header.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace ledger {

// `text` with every control character (and DEL) written as \xNN and a backslash as \\,
// cut after `max_bytes` bytes of the input with " … (N bytes)" appended. Bytes of UTF-8
// pass unchanged.
std::string Printable(std::string_view text, size_t max_bytes = 256);

enum class LineRead { kLine, kTooLong, kEnd };

// Reads one line of `in` (without its '\n') into `line`, holding at most `max_bytes` of
// it: a longer line is read to its end but not kept (kTooLong, `line` holds its first
// `max_bytes` bytes), so one huge line cannot take the memory. kEnd once nothing is left.
LineRead ReadLine(std::istream& in, std::string* line, size_t max_bytes);

// This host's name (gethostname).
std::string LocalHostName();

// The edit distance (insertions, deletions, substitutions, adjacent transpositions)
// between two words.
size_t EditDistance(std::string_view a, std::string_view b);

// Of `names`, the closest to `word` if it is close enough to be a typo of it (at most
// two edits and at most a third of its letters, one for a word of under six); "" if
// none is.
std::string ClosestName(std::string_view word, const std::vector<std::string>& names);

}  // namespace ledger
