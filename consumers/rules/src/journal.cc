#include "ledger/rules/journal.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <optional>
#include <set>

#include "ledger/schema/ledger_generated.h"
#include "ledger/storage/keys.h"
#include "rule_step.h"

namespace ledger {

std::string EncodeJournalValue(Millis recorded_at, fb::Event type, std::string_view envelope, bool pending) {
  std::string v = keys::EncodeOffset(recorded_at);
  v.push_back(static_cast<char>(static_cast<uint8_t>(type) | (pending ? 0x80 : 0)));
  v.append(envelope);
  return v;
}

Result<JournalEntry> DecodeJournalEntry(std::string_view key, std::string_view value) {
  const std::string_view prefix = keys::JournalOf(key);
  if (prefix.empty() || key.size() != prefix.size() + 17 || value.size() < 9) {
    return Status::Corruption("a journal entry of account " + std::string(keys::AccountOf(key)) +
                              " is malformed (" + std::to_string(key.size()) + "-byte key, " +
                              std::to_string(value.size()) + "-byte value)");
  }
  JournalEntry e;
  e.occurred_at = keys::DecodeOffset(key.substr(prefix.size() + 1, 8));
  e.offset = keys::DecodeOffset(key.substr(prefix.size() + 9, 8));
  e.recorded_at = keys::DecodeOffset(value.substr(0, 8));
  e.type = static_cast<fb::Event>(static_cast<uint8_t>(value[8]) & 0x7f);
  e.pending = (static_cast<uint8_t>(value[8]) & 0x80) != 0;
  e.envelope = value.substr(9);
  return e;
}

std::string EncodeFoldHead(const FoldHead& head) {
  std::string v = keys::EncodeOffset(head.occurred_at) + keys::EncodeOffset(head.offset);
  v.push_back(head.stale ? '\1' : '\0');
  return v;
}

std::optional<FoldHead> DecodeFoldHead(std::string_view bytes) {
  if (bytes.size() != 17) return std::nullopt;
  return FoldHead{keys::DecodeOffset(bytes.substr(0, 8)), keys::DecodeOffset(bytes.substr(8, 8)), bytes[16] != 0};
}

namespace {

Result<const fb::Envelope*> EnvelopeOf(const JournalEntry& entry) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(entry.envelope.data()), entry.envelope.size());
  if (!fb::VerifyEnvelopeBuffer(v)) {
    return Status::Corruption("the journaled event at offset " + std::to_string(entry.offset) +
                              " does not verify (a store written by another release? `ledger rebuild` "
                              "replays the log into a new store)");
  }
  const fb::Envelope* e = fb::GetEnvelope(entry.envelope.data());
  if (e->event_type() != entry.type) {
    return Status::Corruption("the journaled event at offset " + std::to_string(entry.offset) +
                              " is not of the type its entry says");
  }
  return e;
}

}  // namespace

bool InScope(FoldScope scope, fb::Event type) {
  if (scope == FoldScope::kAll) return true;
  auto between = [type](fb::Event first, fb::Event last) { return type >= first && type <= last; };
  return between(fb::Event::AccountOpened, fb::Event::ContactRemoved) ||
         between(fb::Event::AgreementPurchased, fb::Event::GrantRevoked) ||
         between(fb::Event::RemoteAccessConsentGiven, fb::Event::RemoteAccessConsentRevoked);
}

char JournalPart(fb::Event type) {
  return InScope(FoldScope::kAccountFacts, type) ? keys::kFactsPart : keys::kOtherPart;
}

void SortForFold(std::vector<JournalEntry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const JournalEntry& a, const JournalEntry& b) {
    return a.occurred_at != b.occurred_at ? a.occurred_at < b.occurred_at : a.offset < b.offset;
  });
}

namespace {

// Reads `state`, then `below` (if any) for the keys it lacks. The views stay valid until
// the state changes.
StateLookup Over(const FoldedState& state, const StateLookup* below) {
  return [&state, below](std::string_view key) -> Result<std::optional<std::string_view>> {
    if (auto it = state.find(key); it != state.end()) return std::optional<std::string_view>(it->second);
    if (below != nullptr) return (*below)(key);
    return std::optional<std::string_view>();
  };
}

// Folds one verified journal entry into `state`, read through `lookup` (Over(state, ...)).
Status FoldInto(FoldedState& state, const StateLookup& lookup, const JournalEntry& entry, const fb::Envelope& e,
                int partition) {
  const EventPosition pos{partition, entry.offset, entry.recorded_at, 0, entry.envelope};
  auto applied = rules_detail::FoldEvent(e, pos, lookup);
  if (!applied.ok()) return applied.status();
  for (auto& c : applied->changes) state.insert_or_assign(std::move(c.key), std::move(c.value));
  return Status::Ok();
}

}  // namespace

Result<FoldedState> FoldJournal(const std::vector<JournalEntry>& entries, int partition, Millis recorded_by,
                                FoldScope scope) {
  FoldedState state;
  const StateLookup lookup = Over(state, nullptr);
  for (const JournalEntry& entry : entries) {
    if (entry.recorded_at > recorded_by || !InScope(scope, entry.type)) continue;
    auto e = EnvelopeOf(entry);
    if (!e.ok()) return e.status();
    if (Status s = FoldInto(state, lookup, entry, **e, partition); !s.ok()) return s;
  }
  return state;
}

namespace {

// What one event's rules may read and write, for telling whether two events commute.
struct Footprint {
  std::vector<std::string> reads;   // KeysRead: every key its rules read (and write)
  bool writes_account = false;      // a lifecycle event writes the account's own key
  bool reads_facts = false;         // a case's verdict reads the agreements and grants indexed
  bool writes_facts = false;        // it writes an agreement or a grant
  bool unknown = false;             // its rules read a key its event does not name
};

Footprint FootprintOf(const fb::Envelope& e) {
  Footprint f;
  f.reads = KeysRead(e, Seen::kNew);
  std::sort(f.reads.begin(), f.reads.end());
  const fb::Event t = e.event_type();
  f.writes_account = t >= fb::Event::AccountOpened && t <= fb::Event::AccountClosed;
  f.reads_facts = t == fb::Event::CaseOpened;
  f.writes_facts = t >= fb::Event::AgreementPurchased && t <= fb::Event::GrantRevoked;
  // An escalation's later events read and write its case, named only in the escalation.
  f.unknown = t >= fb::Event::EscalationLevelRaised && t <= fb::Event::EscalationClosed;
  return f;
}

// Whether `x` writes a key `y` reads (every key written is read first, keys.h's KeysRead;
// the account's own key is written by lifecycle events only).
bool WritesWhatIsRead(const Footprint& x, const Footprint& y, std::string_view account_key) {
  if (x.writes_facts && y.reads_facts) return true;
  size_t i = 0, j = 0;
  while (i < x.reads.size() && j < y.reads.size()) {
    const int c = x.reads[i].compare(y.reads[j]);
    if (c == 0) {
      if (x.reads[i] != account_key || x.writes_account) return true;
      ++i, ++j;
    } else if (c < 0) {
      ++i;
    } else {
      ++j;
    }
  }
  return false;
}

bool Commute(const Footprint& a, const Footprint& b, std::string_view account_key) {
  return !a.unknown && !b.unknown && !WritesWhatIsRead(a, b, account_key) && !WritesWhatIsRead(b, a, account_key);
}

// At most this many pairs are compared before folding the whole journal instead.
constexpr size_t kMostPairs = 4096;

}  // namespace

namespace {

// Journal entries in fold order, each with its envelope verified once.
struct JournalRead {
  std::vector<JournalEntry> entries;
  std::vector<const fb::Envelope*> envelopes;
};

Result<JournalRead> ReadJournal(const JournalScan& journal, Millis from) {
  JournalRead read;
  Status bad;
  Status scanned = journal(from, [&](std::string_view key, std::string_view value) {
    auto entry = DecodeJournalEntry(key, value);
    if (!entry.ok()) {
      if (bad.ok()) bad = entry.status();
      return;
    }
    read.entries.push_back(*entry);
  });
  if (!scanned.ok()) return scanned;
  if (!bad.ok()) return bad;
  SortForFold(read.entries);
  read.envelopes.reserve(read.entries.size());
  for (const JournalEntry& entry : read.entries) {
    auto e = EnvelopeOf(entry);
    if (!e.ok()) return e.status();
    read.envelopes.push_back(*e);
  }
  return read;
}

}  // namespace

Result<std::vector<Change>> RefoldAccount(std::string_view account, int partition, const JournalScan& journal,
                                          const StateLookup& lookup, const StatePrefetch& prefetch,
                                          Millis pending_from, const std::function<bool()>& whole_now) {
  // The journal from the first pending entry on: all the common case needs.
  auto tail = ReadJournal(journal, pending_from);
  if (!tail.ok()) return tail.status();
  const std::vector<JournalEntry>& entries = tail->entries;
  const std::vector<const fb::Envelope*>& envelopes = tail->envelopes;
  FoldHead head;
  if (!entries.empty()) head = FoldHead{entries.back().occurred_at, entries.back().offset, false};
  // The pending entries, journaled again as folded.
  std::vector<Change> cleared;
  for (const JournalEntry& entry : entries) {
    if (!entry.pending) continue;
    cleared.push_back({keys::Journal(account, JournalPart(entry.type), entry.occurred_at, entry.offset),
                       EncodeJournalValue(entry.recorded_at, entry.type, entry.envelope)});
  }
  cleared.push_back({keys::FoldHead(account), EncodeFoldHead(head)});

  // The common case: pending events that share no key with the events folded after them.
  {
    const std::string account_key = keys::Account(account);
    std::vector<std::optional<Footprint>> footprints(entries.size());
    auto footprint = [&](size_t i) -> const Footprint& {
      if (!footprints[i]) footprints[i] = FootprintOf(*envelopes[i]);
      return *footprints[i];
    };
    bool commute = true;
    size_t pairs = 0;
    for (size_t i = 0; i < entries.size() && commute; ++i) {
      if (!entries[i].pending) continue;
      for (size_t j = i + 1; j < entries.size() && commute; ++j) {
        if (entries[j].pending) continue;
        commute = ++pairs <= kMostPairs && Commute(footprint(i), footprint(j), account_key);
      }
    }
    if (commute) {
      // Folded onto the stored state in business-time order, each reading what the ones
      // before it wrote.
      FoldedState written;
      const StateLookup over = Over(written, &lookup);
      for (size_t i = 0; i < entries.size(); ++i) {
        if (!entries[i].pending) continue;
        if (Status s = FoldInto(written, over, entries[i], *envelopes[i], partition); !s.ok()) return s;
      }
      std::vector<Change> changes;
      for (auto& [k, v] : written) changes.push_back({k, std::move(v)});
      changes.insert(changes.end(), cleared.begin(), cleared.end());
      return changes;
    }
  }

  // Otherwise the whole journal, folded from nothing: here, or where the caller says.
  if (whole_now && !whole_now()) {
    return Status::TooLarge("the whole journal of account " + std::string(account) + " is left to fold later");
  }
  JournalRead whole;
  if (pending_from > 0) {
    auto read = ReadJournal(journal, 0);
    if (!read.ok()) return read.status();
    whole = std::move(*read);
  } else {
    whole = std::move(*tail);
  }
  FoldedState folded;
  const StateLookup fresh = Over(folded, nullptr);
  for (size_t i = 0; i < whole.entries.size(); ++i) {
    if (Status s = FoldInto(folded, fresh, whole.entries[i], *whole.envelopes[i], partition); !s.ok()) return s;
  }
  // Every key the journal's events could have written before: the keys their rules read
  // and write, and the anomaly each may have left.
  std::set<std::string, std::less<>> candidates;
  for (size_t i = 0; i < whole.entries.size(); ++i) {
    for (auto& k : KeysRead(*whole.envelopes[i], Seen::kNew)) candidates.insert(std::move(k));
    candidates.insert(keys::Anomaly(account, whole.entries[i].offset));
  }
  for (const auto& entry : folded) candidates.insert(entry.first);
  if (prefetch) {
    if (Status s = prefetch(std::vector<std::string>(candidates.begin(), candidates.end())); !s.ok()) return s;
  }
  std::vector<Change> changes;
  for (const auto& key : candidates) {
    auto now = lookup(key);
    if (!now.ok()) return now.status();
    auto it = folded.find(key);
    if (it != folded.end()) {
      if (!*now || **now != it->second) changes.push_back({key, it->second});
    } else if (*now) {
      changes.push_back({key, "", true});
    }
  }
  changes.insert(changes.end(), cleared.begin(), cleared.end());
  return changes;
}

}  // namespace ledger
