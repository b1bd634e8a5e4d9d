// The rules applied to state in memory (a sorted map), as the projector applies them to
// its store: an event that arrives behind events it precedes is journaled and its
// account folded again at once. No disk, no Kafka: for tests of the rules themselves.
#pragma once

#include <map>
#include <string>

#include "ledger/rules/journal.h"
#include "ledger/rules/rules.h"

namespace ledger::test_support {

using MemoryState = std::map<std::string, std::string, std::less<>>;

// Applies one verified event (its bytes in pos.bytes) to `state`: its outcome.
Result<Applied> ApplyToMemory(MemoryState& state, const fb::Envelope& event, const EventPosition& pos);

}  // namespace ledger::test_support
