#include "command_line_docs.h"

#include <functional>
#include <sstream>
#include <vector>

namespace ledger {
namespace {

std::vector<const CLI::App*> Subcommands(const CLI::App* app) {
  return app->get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); });
}

// Every command below `app` with its path ("query entitlement"), depth first.
void Walk(const CLI::App* app, const std::string& path,
          const std::function<void(const CLI::App*, const std::string&)>& visit) {
  visit(app, path);
  for (const CLI::App* sub : Subcommands(app)) Walk(sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), visit);
}

// The names an option is given by on the command line ("--account", "-h"); none for a
// positional.
std::vector<std::string> Names(const CLI::Option* o) {
  std::vector<std::string> out;
  for (const auto& l : o->get_lnames()) out.push_back("--" + l);
  for (const auto& s : o->get_snames()) out.push_back("-" + s);
  return out;
}

// Text for roff: a leading dot or quote escaped, backslashes doubled.
std::string Roff(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '\\' ? std::string("\\e") : c == '-' ? std::string("\\-") : std::string(1, c);
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// "an event-sourced ..." of "ledger: an event-sourced ...".
std::string Summary(const std::string& description) {
  const std::string prefix = "ledger: ";
  return description.rfind(prefix, 0) == 0 ? description.substr(prefix.size()) : description;
}

}  // namespace

std::string BashCompletion(const CLI::App& app) {
  std::ostringstream paths, words;
  Walk(&app, "", [&](const CLI::App* a, const std::string& path) {
    std::string list;
    for (const CLI::App* sub : Subcommands(a)) list += sub->get_name() + " ";
    for (const CLI::Option* o : a->get_options()) {
      for (const auto& n : Names(o)) list += n + " ";
    }
    if (!path.empty()) paths << "    \"" << path << "\") path=\"$candidate\" ;;\n";
    words << "    \"" << path << "\") words=\"" << list << "\" ;;\n";
  });
  std::ostringstream out;
  out << "# bash completion for ledger, made by `ledger completion bash` from its own definitions.\n"
         "# Load it with: source <(ledger completion bash)\n"
         "_ledger() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} path=\"\" candidate words i\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    [[ ${COMP_WORDS[i]} == -* ]] && continue\n"
         "    candidate=${path:+$path }${COMP_WORDS[i]}\n"
         "    case \"$candidate\" in\n"
      << paths.str()
      << "    esac\n"
         "  done\n"
         "  case \"$path\" in\n"
      << words.str()
      << "  esac\n"
         "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "}\n"
         "complete -F _ledger ledger\n";
  return out.str();
}

std::string ManPage(const CLI::App& app, const std::string& version) {
  std::ostringstream out;
  out << ".TH LEDGER 1 \"\" \"" << Roff(version) << "\" \"User Commands\"\n"
      << ".nh\n"  // no hyphens: option names and ids are copied from the page
      << ".SH NAME\nledger \\- " << Roff(Summary(app.get_description())) << "\n"
      << ".SH SYNOPSIS\n.B ledger\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n"
      << ".SH DESCRIPTION\nEach command below with what it does and its options. The global options apply "
         "to every command, anywhere on its line. Exit codes: 0 done, 1 some input rejected, 2 broker or store "
         "unavailable, 64 bad flags or arguments, 75 the store was switched by a rebuild, 77 Kafka refused the "
         "credentials or an ACL denied the action.\n";
  Walk(&app, "", [&](const CLI::App* a, const std::string& path) {
    out << (path.empty() ? ".SH GLOBAL OPTIONS\n" : ".SH \"ledger " + Roff(path) + "\"\n");
    if (!path.empty()) out << Roff(a->get_description()) << "\n";
    for (const CLI::Option* o : a->get_options()) {
      std::string names;
      for (const auto& n : Names(o)) names += (names.empty() ? "" : ", ") + std::string("\\fB") + Roff(n) + "\\fR";
      if (names.empty()) names = "\\fI" + Roff(o->get_name()) + "\\fR";
      out << ".TP\n" << names;
      if (o->get_type_size() > 0 && o->nonpositional()) out << " \\fI" << Roff(o->get_type_name()) << "\\fR";
      out << "\n" << Roff(o->get_description());
      if (!o->get_default_str().empty()) out << " (default: " << Roff(o->get_default_str()) << ")";
      if (o->get_required()) out << " (required)";
      out << "\n";
    }
  });
  out << ".SH SEE ALSO\nThe README of the ledger: the questions, the HTTP API, configuration and metrics.\n";
  return out.str();
}

}  // namespace ledger
