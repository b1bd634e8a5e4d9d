// The projection rules: a pure function of (the partition's stored state, one event)
// to the changes it makes. No clock, no randomness, no other partition, no reference
// data: two replays of the same log produce byte-identical stores. An account's state is
// the fold of its journal in business-time order (ledger/rules/journal.h): an event that
// arrives in that order is folded onto the state at once; one that arrives behind events
// it precedes is journaled, and the account is folded again (RefoldAccount).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/base/time.h"
#include "ledger/schema/event_codec.h"

namespace ledger {

// Where the event sits in the log.
struct EventPosition {
  int partition = 0;
  int64_t offset = 0;
  Millis recorded_at = 0;  // the Kafka record timestamp (LogAppendTime)
  // ContentHash of the event (event_codec.h); 0: unknown, then a seen event id counts as
  // a duplicate without comparing.
  uint64_t content_hash = 0;
  // The envelope's bytes, as the account's journal keeps them.
  std::string_view bytes;
};

enum class Outcome {
  kApplied,    // the state changed as the event says
  kAnomaly,    // a fact that was rejected: recorded with its reason, state unchanged
  kDuplicate,  // an event id seen before: skipped
  // Journaled behind events recorded before it that it precedes in business time: the
  // account is folded again (RefoldAccount), which decides whether it applies.
  kLate,
};
const char* OutcomeName(Outcome o);

// The documented rule for an event's occurred_at, which depends only on the event and its
// record time: not before kEarliestOccurredAt (an earlier time is most likely seconds
// taken for milliseconds), and not more than kMostAheadOfRecord after the record time
// (the business time of a fact cannot lie years after the log received it). Returns why
// not, or "" when plausible. An implausible event is an anomaly: recorded, not applied.
inline constexpr Millis kEarliestOccurredAt = 31536000000;  // 1971-01-01T00:00:00Z
inline constexpr Millis kMostAheadOfRecord = 366LL * 24 * 3600 * 1000;
std::string ImplausibleTime(Millis occurred_at, Millis recorded_at);

struct Change {
  std::string key;
  std::string value;
  bool erase = false;  // delete the key (value unused)
};

struct Applied {
  Outcome outcome = Outcome::kApplied;
  std::string reason;           // why, for kAnomaly
  std::vector<Change> changes;  // to write in this partition, in order
};

// Reads the partition's state (staged writes included) by key. The bytes viewed stay
// valid until the ApplyEvent call that asked returns.
using StateLookup = std::function<Result<std::optional<std::string_view>>(std::string_view key)>;

// Whether the event id may have been stored before. kNew is the caller's promise that it
// was not (e.g. from a SeenFilter), which spares the lookup.
enum class Seen { kMaybe, kNew };

// The event id as bytes.
UuidBytes EventIdOf(const fb::Envelope& event);

// The keys ApplyEvent may read for this event, so a batch can fetch them together.
std::vector<std::string> KeysRead(const fb::Envelope& event, Seen seen = Seen::kMaybe);

// Applies one verified envelope (its bytes in position.bytes): skips a duplicate; records
// an event that no other fact could make valid (reference data, an implausible time) as an
// anomaly; journals any other, and folds it onto the account's state when it comes last
// in business time (kApplied or kAnomaly), else marks the account for RefoldAccount
// (kLate). Fails only when `lookup` fails.
Result<Applied> ApplyEvent(const fb::Envelope& event, const EventPosition& position, const StateLookup& lookup,
                           Seen seen = Seen::kMaybe);

}  // namespace ledger
