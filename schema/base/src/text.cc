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

}  // namespace ledger
