// The words of a command line that name nothing where they stand, said before CLI11
// parses it: its own messages for a mistyped subcommand or option name neither
// ("A subcommand is required", "--account is required").
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ledger {

// The first of `args` (the command line without the program) that is neither a
// subcommand, an option, an option's value nor a positional of the command it follows,
// as a message naming the command, the word and the closest names there ("ledger query:
// unknown command \"entitlment\"; did you mean \"entitlement\"?"); nullopt when every
// word names something (CLI11 then checks the rest). `app` is the configured root.
std::optional<std::string> MisplacedWord(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace ledger
