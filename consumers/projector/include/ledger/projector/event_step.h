// The per-event step of the projection: one record of ledger.events, as delivered,
// verified and folded into a StagedBatch. Plain values in, no Kafka client: the
// projector, the unit-test ledger and the fuzz target all run this same step.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>
#include <string_view>

#include "ledger/base/status.h"
#include "ledger/base/time.h"
#include "ledger/projector/seen_filter.h"
#include "ledger/rules/rules.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/projection_store.h"

namespace ledger {

// One record of ledger.events as the broker delivered it. The views must outlive the
// calls that are given the record.
struct EventRecord {
  int partition = 0;
  int64_t offset = 0;
  Millis recorded_at = 0;    // the Kafka record timestamp (LogAppendTime)
  std::string_view key;      // the message key: the account id
  std::string_view payload;  // the Envelope's bytes
  // The partitions ledger.events has; 0: unknown, the partition is not checked.
  int partition_count = 0;
  // The message's ledger.type header; empty: none (then not checked).
  std::string_view type_header;
};

// Verifies a record: a valid Envelope (with valid ids), account data (reference data
// belongs on ledger.reference), travelling under its account's key (an event on another
// account's key would split the account's state), on the partition Kafka's murmur2
// partitioner gives that key (else no query would find it), and of the type its
// ledger.type header says. On failure the message says why, and what to set: it is the
// dead letter's reason.
Result<const fb::Envelope*> VerifyRecord(const EventRecord& record);

// Whether `event`'s id may have been stored in the partition `filter` covers; null: not
// known, so maybe.
Seen SeenIn(const SeenFilter* filter, const fb::Envelope& event);

// Folds one verified record into `staged`: skips a duplicate, applies the rules, stages
// their changes and the partition's next offset, and adds the event id to `filter`
// (may be null) unless it was a duplicate. Fails only when reading the state fails;
// then nothing of the record is staged.
Result<Applied> FoldRecord(const EventRecord& record, const fb::Envelope& event, StagedBatch& staged,
                           SeenFilter* filter);

// Where the refolds of long accounts run. The projector folds a long account's whole
// journal again on a thread of its own (DeferredRefolds) rather than in the batch, so
// that the other accounts' events are never held behind it; until then the account is
// stale in the store (its fold head says so) and readers fold its journal themselves.
struct RefoldPolicy {
  // The account's refold is running elsewhere now: it is left stale.
  std::function<bool(int partition, std::string_view account)> elsewhere;
  // Folding the account's journal from business time `from` (0: the whole journal) is
  // too much for the batch: it is left stale and reported in RefoldCounts::deferred.
  std::function<bool(int partition, std::string_view account, Millis from)> defer;
};

// Folds again every account that FoldRecord marked stale in `staged` (an event arrived
// behind events it precedes in business time), and every account of `also` (stale in
// the store), from its journal (the store's and the batch's), staging the changes: call
// before writing the batch, once the batch before it is in the store. How many accounts,
// and how many journal entries folded.
struct RefoldCounts {
  uint64_t accounts = 0;
  uint64_t events = 0;
  // Refolds of one account that read more than kLargeRefoldEntries journal entries (each
  // also logged as a warning naming the account).
  uint64_t large = 0;
  // Left stale by the policy's `defer`: (partition, account).
  std::vector<std::pair<int, std::string>> deferred;
};
inline constexpr size_t kLargeRefoldEntries = 10'000;
Result<RefoldCounts> RefoldStale(StagedBatch& staged, const RefoldPolicy& policy = {},
                                 const std::vector<std::pair<int, std::string>>& also = {});

// Moves past a record that is not folded (it failed verification and was
// dead-lettered): stages only the partition's next offset.
void PassRecord(const EventRecord& record, StagedBatch& staged);

}  // namespace ledger
