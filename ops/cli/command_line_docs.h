// What the command line's own definitions (CLI11) say, in the forms a shell and `man`
// read: one source for help, completion and the manual page.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace ledger {

// A bash completion script for `app` (`complete -F _ledger ledger`): at each point of a
// command line, its subcommands and options.
std::string BashCompletion(const CLI::App& app);

// A manual page (roff, man(7) macros) for `app`: every command with its description and
// options, their value types and defaults.
std::string ManPage(const CLI::App& app, const std::string& version);

}  // namespace ledger
