#include "ledger/base/json_input.h"

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace ledger {
namespace {

using Json = nlohmann::ordered_json;

// Checks the bounds while the lexer reads, before a tree exists; stops at the first
// problem (returning false ends the parse).
class BoundsCheck : public nlohmann::json_sax<Json> {
 public:
  explicit BoundsCheck(const JsonLimits& limits) : limits_(limits) {}

  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t n) override {
    if (n > static_cast<number_unsigned_t>(INT64_MAX)) {
      return Fail("the number " + std::to_string(n) + " is beyond a 64-bit integer");
    }
    return Value();
  }
  bool number_float(number_float_t x, const string_t& text) override {
    if (!std::isfinite(x)) return Fail("the number " + text + " is out of range");
    return Value();
  }
  bool string(string_t& s) override {
    if (s.size() > limits_.max_string_bytes) return TooLong("a string", s.size());
    return Value();
  }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override { return Open(true); }
  bool key(string_t& k) override {
    if (k.size() > limits_.max_string_bytes) return TooLong("a key", k.size());
    Level& level = levels_.back();
    if (!level.keys.insert(k).second) {
      level.key.clear();  // where: the object holding it
      return Fail("the key '" + Shown(k) + "' is given twice");
    }
    level.key = k;
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(false); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    std::string what = e.what();
    // or "[json.exception.out_of_range.406] number overflow parsing '1e999'".
    if (what.rfind("[json.exception.", 0) == 0) {
      if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    }
    problem_ = "not valid JSON: " + what;
    return false;
  }

  const std::string& problem() const { return problem_; }

 private:
  struct Level {
    bool object = false;
    size_t items = 0;
    std::set<std::string> keys;  // an object's keys so far
    std::string key;             // the member being read
  };

  // Counts one value in the document and in the object or array holding it.
  bool Value() {
    if (++values_ > limits_.max_values) {
      return Fail("more than " + std::to_string(limits_.max_values) + " values in one document");
    }
    if (!levels_.empty() && ++levels_.back().items > limits_.max_items) {
      return Fail(std::string(levels_.back().object ? "an object of more than " : "an array of more than ") +
                  std::to_string(limits_.max_items) + (levels_.back().object ? " members" : " items"));
    }
    return true;
  }
  bool Open(bool object) {
    if (!Value()) return false;
    if (static_cast<int>(levels_.size()) >= limits_.max_depth) {
      return Fail("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    levels_.emplace_back();
    levels_.back().object = object;
    return true;
  }
  bool Close() {
    levels_.pop_back();
    return true;
  }
  bool TooLong(const char* what, size_t size) {
    return Fail(std::string(what) + " of " + std::to_string(size) + " bytes, more than " +
                std::to_string(limits_.max_string_bytes));
  }
  // The problem, and where it is: the path of keys and indexes down to it.
  bool Fail(const std::string& why) {
    std::string path;
    for (const Level& l : levels_) {
      if (l.object) {
        if (!l.key.empty()) path += (path.empty() ? "" : ".") + Shown(l.key);
      } else {
        path += "[" + std::to_string(l.items == 0 ? 0 : l.items - 1) + "]";
      }
    }
    problem_ = path.empty() ? why : path + ": " + why;
    return false;
  }
  static std::string Shown(const std::string& s) { return s.size() <= 64 ? s : s.substr(0, 64) + "…"; }

  const JsonLimits& limits_;
  std::vector<Level> levels_;
  size_t values_ = 0;
  std::string problem_;
};

}  // namespace

Result<Json> ParseJsonInput(std::string_view text, const JsonLimits& limits) {
  BoundsCheck check(limits);
  const bool ok = Json::sax_parse(text.begin(), text.end(), &check, nlohmann::json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok) return Status::InvalidInput(check.problem().empty() ? "not valid JSON" : check.problem());
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::InvalidInput("not valid JSON");
  return parsed;
}

}  // namespace ledger
