#include "command_line_check.h"

#include <algorithm>
#include <cctype>

#include "ledger/base/text.h"

namespace ledger {
namespace {

// "ledger query events": the command's words from the root.
std::string PathOf(const CLI::App* app) {
  std::vector<std::string> words;
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent()) {
    words.push_back(a->get_parent() == nullptr ? "ledger" : a->get_name());
  }
  std::string out;
  for (auto it = words.rbegin(); it != words.rend(); ++it) out += (out.empty() ? "" : " ") + *it;
  return out;
}

// An option of `app` or of a command it belongs to (the global ones come first).
const CLI::Option* FindOption(const CLI::App* app, const std::string& name) {
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent()) {
    if (const CLI::Option* o = a->get_option_no_throw(name)) return o;
  }
  return nullptr;
}

// The names an option may be given by here: "--long" and "-s".
std::vector<std::string> OptionNames(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent()) {
    for (const CLI::Option* o : a->get_options()) {
      for (const auto& l : o->get_lnames()) names.push_back("--" + l);
      for (const auto& s : o->get_snames()) names.push_back("-" + s);
    }
  }
  return names;
}

// The commands that have an option of this name ("ledger query list").
std::string CommandsWithOption(const CLI::App* app, const std::string& name) {
  std::string out;
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); })) {
    if (sub->get_option_no_throw(name) != nullptr) out += (out.empty() ? "" : ", ") + PathOf(sub);
    const std::string deeper = CommandsWithOption(sub, name);
    if (!deeper.empty()) out += (out.empty() ? "" : ", ") + deeper;
  }
  return out;
}

size_t PositionalCount(const CLI::App* app) {
  return app->get_options([](const CLI::Option* o) { return o->get_positional(); }).size();
}

bool IsOptionWord(const std::string& w) {
  // "-5" is a value (a negative number), not an option.
  return w.size() > 1 && w[0] == '-' && !std::isdigit(static_cast<unsigned char>(w[1]));
}

}  // namespace

std::optional<std::string> MisplacedWord(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* cur = &app;
  size_t positionals = PositionalCount(cur);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& w = args[i];
    if (w == "--") break;
    if (IsOptionWord(w)) {
      const std::string name = w.substr(0, w.find('='));
      const CLI::Option* o = FindOption(cur, name);
      if (o == nullptr) {
        std::string msg = PathOf(cur) + ": unknown option " + name;
        if (const std::string near = ClosestName(name, OptionNames(cur)); !near.empty()) {
          msg += "; did you mean " + near + "?";
        } else if (const std::string where = CommandsWithOption(&app, name); !where.empty()) {
          msg += ": it does not apply here (it is an option of " + where + ")";
        }
        return msg + " (" + PathOf(cur) + " --help lists its options)";
      }
      if (o->get_type_size() > 0 && w.find('=') == std::string::npos) ++i;  // its value
      continue;
    }
    const auto subs = cur->get_subcommands([&](const CLI::App* s) { return s->check_name(w); });
    if (!subs.empty()) {
      cur = subs.front();
      positionals = PositionalCount(cur);
      continue;
    }
    if (positionals > 0) {
      --positionals;
      continue;
    }
    const auto all = cur->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); });
    if (all.empty()) return std::nullopt;  // CLI11 says what it did not expect
    std::vector<std::string> names;
    for (const CLI::App* s : all) names.push_back(s->get_name());
    std::string msg = PathOf(cur) + ": unknown command \"" + w + "\"";
    if (const std::string near = ClosestName(w, names); !near.empty()) msg += "; did you mean \"" + near + "\"?";
    return msg + " (" + PathOf(cur) + " --help lists them)";
  }
  return std::nullopt;
}

}  // namespace ledger
