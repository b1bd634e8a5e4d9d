#include "ledger/base/text.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace ledger {

std::string Printable(std::string_view text, size_t max_bytes) {
  size_t cut = std::min(max_bytes, text.size());
  // Never inside a UTF-8 sequence: back to the start of the character cut.
  if (cut < text.size()) {
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  }
  const std::string_view shown = text.substr(0, cut);
  std::string out;
  out.reserve(shown.size() + 16);
  for (unsigned char c : shown) {
    if (c < 0x20 || c == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown.size() < text.size()) out += " … (" + std::to_string(text.size()) + " bytes)";
  return out;
}

LineRead ReadLine(std::istream& in, std::string* line, size_t max_bytes) {
  line->clear();
  std::streambuf* buf = in.rdbuf();
  if (buf == nullptr || !in.good()) return LineRead::kEnd;
  bool any = false, too_long = false;
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    any = true;
    if (c == '\n') return too_long ? LineRead::kTooLong : LineRead::kLine;
    if (line->size() < max_bytes) {
      line->push_back(static_cast<char>(c));
    } else {
      too_long = true;
    }
  }
  in.setstate(std::ios::eofbit);
  if (!any) return LineRead::kEnd;
  return too_long ? LineRead::kTooLong : LineRead::kLine;
}

std::string LocalHostName() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return host;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string ClosestName(std::string_view word, const std::vector<std::string>& names) {
  const size_t allowed = std::min<size_t>(2, std::max<size_t>(1, word.size() / 3));
  std::string best;
  size_t best_distance = allowed + 1;
  for (const auto& name : names) {
    const size_t d = EditDistance(word, name);
    if (d < best_distance) {
      best = name;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace ledger
