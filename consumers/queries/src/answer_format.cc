#include "ledger/queries/answer_format.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace ledger {
namespace {

// A cell as a spreadsheet may read it: text that starts like a formula (=, +, -, @, tab,
// carriage return) gets a leading apostrophe, as OWASP advises against CSV injection,
// and control characters are written as \xNN. Numbers stay as they are.
std::string SafeCell(const Json& v) {
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";  // as JSON says it
  const std::string text = CellText(v);
  if (v.is_number()) return text;
  std::string out;
  if (!text.empty() && std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos) out = "'";
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

std::string CellText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return "";
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : "; ") + CellText(x);
    return s;
  }
  if (v.is_object()) {
    std::string s;
    for (const auto& [k, x] : v.items()) s += (s.empty() ? "" : " ") + k + "=" + CellText(x);
    return s;
  }
  return v.dump();
}

std::vector<std::string> ListColumns(const Json& items) {
  std::vector<std::string> cols;
  for (const auto& row : items) {
    for (const auto& [k, v] : row.items()) {
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
    }
  }
  return cols;
}

std::string ListAsCsv(const Json& list) {
  const Json& items = list.at("items");
  const auto cols = ListColumns(items);
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + CsvField(cols[i]);
  out += "\n";
  for (const auto& row : items) {
    for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + CsvField(SafeCell(row.value(cols[i], Json())));
    out += "\n";
  }
  return out;
}

std::string ListAsJsonLines(const Json& list) {
  std::string out;
  for (const auto& row : list.at("items")) out += row.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  return out;
}

}  // namespace ledger
