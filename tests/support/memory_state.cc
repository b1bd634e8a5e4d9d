#include "memory_state.h"

#include "ledger/storage/keys.h"

namespace ledger::test_support {

Result<Applied> ApplyToMemory(MemoryState& state, const fb::Envelope& event, const EventPosition& pos) {
  const StateLookup lookup = [&state](std::string_view key) -> Result<std::optional<std::string_view>> {
    auto it = state.find(key);
    if (it == state.end()) return std::optional<std::string_view>();
    return std::optional<std::string_view>(it->second);
  };
  auto write = [&state](const std::vector<Change>& changes) {
    for (const Change& c : changes) {
      if (c.erase) {
        state.erase(c.key);
      } else {
        state.insert_or_assign(c.key, c.value);
      }
    }
  };
  auto applied = ApplyEvent(event, pos, lookup);
  if (!applied.ok()) return applied;
  write(applied->changes);
  if (applied->outcome != Outcome::kLate) return applied;
  const std::string account = event.account_id()->str();
  const JournalScan scan = [&](Millis from, const std::function<void(std::string_view, std::string_view)>& visit) {
    const std::string prefix = keys::JournalPrefix(account);
    for (auto it = state.lower_bound(prefix); it != state.end() && it->first.starts_with(prefix); ++it) {
      auto entry = DecodeJournalEntry(it->first, it->second);
      if (!entry.ok()) return entry.status();
      if (entry->occurred_at >= from) visit(it->first, it->second);
    }
    return Status::Ok();
  };
  auto changes = RefoldAccount(account, pos.partition, scan, lookup);
  if (!changes.ok()) return changes.status();
  write(*changes);
  return applied;
}

}  // namespace ledger::test_support
