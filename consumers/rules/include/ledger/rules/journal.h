// An account's journal: the events its rules judge, kept in the store in business-time
// order (occurred_at, then offset), and their fold. The account's state (its entities,
// entitlement indexes and anomalies) is the fold of its journal, whatever order the events
// arrived in: ApplyEvent folds an event that comes last in business time onto the state
// at once; RefoldAccount folds the whole journal again after one that did not. An answer
// "as known at R" folds the entries recorded by R (FoldJournal with recorded_by = R).
// Pure: no store, no Kafka, no clock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/base/time.h"
#include "ledger/rules/rules.h"

namespace ledger {

// One journal entry (keys::Journal), viewing the bytes it was decoded from.
struct JournalEntry {
  Millis occurred_at = 0;
  int64_t offset = 0;
  Millis recorded_at = 0;
  fb::Event type = fb::Event::NONE;
  // Journaled behind events already folded, and not folded yet itself (only ever within
  // the batch that journaled it: RefoldAccount folds it before the batch is written).
  bool pending = false;
  std::string_view envelope;  // verified when journaled
};

// The value of a journal key: the record time (8 bytes big-endian), one byte (the event
// type, so that a fold of some families only skips the others unread; its high bit:
// pending), then the envelope.
std::string EncodeJournalValue(Millis recorded_at, fb::Event type, std::string_view envelope, bool pending = false);
// Corruption naming the key's account when the key or value is not a journal entry.
Result<JournalEntry> DecodeJournalEntry(std::string_view key, std::string_view value);

// Where the account's journal has been folded to (keys::FoldHead): the last entry in
// business-time order, and whether entries arrived behind it since (then the state is
// stale until RefoldAccount).
struct FoldHead {
  Millis occurred_at = 0;
  int64_t offset = 0;
  bool stale = false;
};
std::string EncodeFoldHead(const FoldHead& head);
std::optional<FoldHead> DecodeFoldHead(std::string_view bytes);

// An account's state as the fold of its journal writes it: key -> value.
using FoldedState = std::map<std::string, std::string, std::less<>>;

// Which events a fold takes: all, or those that write the account's own facts (its
// status, contacts, agreements, grants, consents, portal users and their indexes: the
// account group, keys.h), which no other family's rules read or write. Folding those
// alone gives the same account group, cheaper.
enum class FoldScope { kAll, kAccountFacts };
bool InScope(FoldScope scope, fb::Event type);
// The part of the journal an event of `type` is kept in (keys::Journal): the account's
// facts, or the rest.
char JournalPart(fb::Event type);
// Orders entries as a fold takes them: business time, then offset (a journal read in key
// order gives its parts one after the other).
void SortForFold(std::vector<JournalEntry>& entries);

// Folds `entries` (in business-time order) from nothing, skipping those recorded after
// `recorded_by` and those outside `scope`: every key the fold writes, with its value.
// Corruption if an entry's envelope does not verify.
Result<FoldedState> FoldJournal(const std::vector<JournalEntry>& entries, int partition,
                                Millis recorded_by = kForever, FoldScope scope = FoldScope::kAll);

// Reads the account's journal entries of business time `from` or later (0: the whole
// journal), in key order, as the caller stores it.
using JournalScan =
    std::function<Status(Millis from, const std::function<void(std::string_view key, std::string_view value)>&)>;

// Reads the keys given together (e.g. one MultiGet), before `lookup` is asked for them.
using StatePrefetch = std::function<Status(std::vector<std::string> keys)>;

// Folds the pending entries of the account's journal: the changes that make the stored
// state (read through `lookup`) the fold of the whole journal, and a fold head that is not
// stale. When no pending entry shares a key with an event folded after it in business
// time (neither reads what the other writes), the pending entries are folded onto the
// stored state in business-time order, which gives the same state; otherwise the whole
// journal is folded again: puts of what differs, deletions of what the fold no longer
// writes. `pending_from`: no pending entry occurs before it (the caller knows where the
// entries it journaled late are); the common case reads the journal from there on only.
//
// `whole_now`, if given, is asked before the whole journal is folded again: false leaves
// it for later (TooLarge, nothing changed), so that the caller can run it elsewhere.
Result<std::vector<Change>> RefoldAccount(std::string_view account, int partition, const JournalScan& journal,
                                          const StateLookup& lookup, const StatePrefetch& prefetch = nullptr,
                                          Millis pending_from = 0, const std::function<bool()>& whole_now = nullptr);

}  // namespace ledger
