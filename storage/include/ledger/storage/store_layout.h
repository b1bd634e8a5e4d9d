// Store generations, for rebuilds (blue/green). A data dir is a symbolic link to one
// generation, DIR.stores/<n>. A rebuild fills generation n+1 beside the live one while
// the live one keeps answering, then switches the link in one atomic rename; the old
// generation stays until the operator removes it. Readers and the projector open the
// generation the link names at that moment (ProjectionStore opens the resolved path).
#pragma once

#include <optional>
#include <string>

#include "ledger/base/status.h"

namespace ledger {

// Creates DIR as a link to DIR.stores/1 if DIR does not exist. A DIR that is a plain
// directory (a store from before generations) is left as it is.
Status EnsureStoreLayout(const std::string& dir);

// The generation DIR links to now, or nullopt for a plain directory.
std::optional<int> CurrentGeneration(const std::string& dir);

// The directory of generation `n` of DIR.
std::string GenerationDir(const std::string& dir, int n);

// Points DIR at generation `n`, atomically (a new link renamed over the old one).
Status SwitchGeneration(const std::string& dir, int n);

}  // namespace ledger
