#include "ledger/projector/event_step.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/base/text.h"
#include "ledger/kafka/partitioner.h"
#include "ledger/rules/journal.h"
#include "ledger/storage/keys.h"

namespace ledger {

Result<const fb::Envelope*> VerifyRecord(const EventRecord& record) {
  auto verified = VerifyEnvelope(record.payload.data(), record.payload.size());
  if (!verified.ok()) return verified;
  if (IsReferenceEvent((*verified)->event_type())) {
    return Status::InvalidInput(EventTypeName((*verified)->event_type()) +
                                " is reference data: it belongs on " + std::string(kReferenceTopic));
  }
  const fb::Envelope& e = **verified;
  if (!record.type_header.empty() && record.type_header != EventTypeName(e.event_type())) {
    return Status::InvalidInput("the header ledger.type says '" + Printable(record.type_header, 64) +
                                "' but the envelope holds " + EventTypeName(e.event_type()));
  }
  const flatbuffers::String* account = e.account_id();
  if (account == nullptr || account->string_view() != record.key) {
    return Status::InvalidInput("the message key '" + Printable(record.key, 128) +
                                "' is not the event's account_id '" +
                                (account ? Printable(account->string_view(), 128) : std::string()) + "'");
  }
  if (record.partition_count > 0) {
    const int expected = KafkaPartitionOf(record.key, record.partition_count);
    if (expected != record.partition) {
      return Status::InvalidInput("account " + Printable(record.key, 128) + " belongs on partition " +
                                  std::to_string(expected) + " of " + std::to_string(record.partition_count) +
                                  " (murmur2 of the key, as Kafka's Java client partitions), not " +
                                  std::to_string(record.partition) +
                                  ": producers must partition by murmur2 (librdkafka-based clients: "
                                  "partitioner=murmur2_random)");
    }
  }
  return verified;
}

Seen SeenIn(const SeenFilter* filter, const fb::Envelope& event) {
  return filter != nullptr && !filter->MayContain(EventIdOf(event)) ? Seen::kNew : Seen::kMaybe;
}

Result<Applied> FoldRecord(const EventRecord& record, const fb::Envelope& event, StagedBatch& staged,
                           SeenFilter* filter) {
  const int p = record.partition;
  const EventPosition pos{p, record.offset, record.recorded_at, ContentHash(event), record.payload};
  auto applied =
      ApplyEvent(event, pos, [&](std::string_view key) { return staged.Get(p, key); }, SeenIn(filter, event));
  if (!applied.ok()) return applied;
  if (filter != nullptr && applied->outcome != Outcome::kDuplicate) filter->Add(EventIdOf(event));
  for (const auto& c : applied->changes) staged.Put(p, c.key, c.value);
  staged.SetNextOffset(p, record.offset + 1);
  return applied;
}

void PassRecord(const EventRecord& record, StagedBatch& staged) {
  staged.SetNextOffset(record.partition, record.offset + 1);
}

Result<RefoldCounts> RefoldStale(StagedBatch& staged, const RefoldPolicy& policy,
                                 const std::vector<std::pair<int, std::string>>& also) {
  RefoldCounts counts;
  std::map<int, std::map<std::string, std::map<std::string, std::string>, std::less<>>> stale_by_partition;
  for (const auto& [p, account] : also) stale_by_partition[p][account];
  for (const int p : staged.partitions()) {
    // One pass over what the batch wrote: the stale accounts, and the journal entries
    // staged for each (the store has the rest).
    auto& stale = stale_by_partition[p];
    staged.ForEachWritten(p, [&](std::string_view key, std::optional<std::string_view> value) {
      if (keys::KindOf(key) == keys::kFoldHeadTag && value) {
        if (auto head = DecodeFoldHead(*value); head && head->stale) stale[std::string(keys::AccountOf(key))];
      }
    });
    if (stale.empty()) continue;
    staged.ForEachWritten(p, [&](std::string_view key, std::optional<std::string_view> value) {
      if (keys::KindOf(key) != keys::kJournalTag || !value) return;
      auto it = stale.find(keys::AccountOf(key));
      if (it != stale.end()) it->second.emplace(std::string(key), std::string(*value));
    });
  }
  for (auto& [p, stale] : stale_by_partition) {
    const StateLookup lookup = [&, p = p](std::string_view key) { return staged.Get(p, key); };
    for (auto& [account, entries] : stale) {
      if (policy.elsewhere && policy.elsewhere(p, account)) continue;
      const auto started = std::chrono::steady_clock::now();
      // Only this batch journals late: its pending entries are all there is (an account
      // stale in the store is folded whole).
      Millis pending_from = kForever;
      for (const auto& [k, v] : entries) {
        auto entry = DecodeJournalEntry(k, v);
        if (entry.ok() && entry->pending) pending_from = std::min(pending_from, entry->occurred_at);
      }
      if (pending_from == kForever) pending_from = 0;
      const JournalScan scan = [&, p = p](Millis from,
                                          const std::function<void(std::string_view, std::string_view)>& visit) {
        // The store's entries and the batch's, merged in key order.
        Status s = staged.store()->ScanJournal(p, account, [&](std::string_view k, std::string_view v) {
          entries.try_emplace(std::string(k), std::string(v));
          return true;
        }, '\0', from);
        if (!s.ok()) return s;
        for (const auto& [k, v] : entries) {
          if (from > 0) {
            auto entry = DecodeJournalEntry(k, v);
            if (entry.ok() && entry->occurred_at < from) continue;  // a malformed one: reported by the refold
          }
          visit(k, v);
        }
        return Status::Ok();
      };
      // Too long to read even from the first late entry on: left for later unread.
      if (policy.defer && policy.defer(p, account, pending_from)) {
        counts.deferred.emplace_back(p, account);
        continue;
      }
      bool deferred = false;
      const std::function<bool()> whole_now = [&, p = p] {
        deferred = policy.defer && policy.defer(p, account, 0);
        return !deferred;
      };
      auto changes = RefoldAccount(
          account, p, scan, lookup,
          [&, p = p](std::vector<std::string> keys) { return staged.Prefetch(p, std::move(keys)); }, pending_from,
          whole_now);
      if (deferred) {
        counts.deferred.emplace_back(p, account);
        continue;
      }
      if (!changes.ok()) return changes.status();
      for (const Change& c : *changes) {
        if (c.erase) {
          staged.Delete(p, c.key);
        } else {
          staged.Put(p, c.key, c.value);
        }
      }
      ++counts.accounts;
      counts.events += entries.size();
      if (entries.size() > kLargeRefoldEntries) {
        // Never a silent stall: the account that holds the partition up is named.
        ++counts.large;
        spdlog::warn("refolded account {} in partition {}: {} journal entries read, {} ms (a late event refolds "
                     "the account's journal from where it belongs)",
                     Printable(account, 128), p, entries.size(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                         .count());
      }
    }
  }
  return counts;
}

}  // namespace ledger
