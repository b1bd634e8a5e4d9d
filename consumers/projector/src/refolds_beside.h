// A live projector's refolds beside it. A late event for a long account leaves the
// account stale in the store (its fold head says so; readers fold its journal when asked)
// and its refold runs on DeferredRefolds' thread; a later batch stages the result. This
// keeps the books: which accounts are stale and since which events, what each batch
// leaves stale (queued once that batch is durable), and the merge of the refolds done.
// Used from the projector's thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "deferred_refolds.h"
#include "ledger/base/status.h"
#include "ledger/projector/event_step.h"
#include "ledger/storage/projection_store.h"

namespace ledger {

class RefoldsBeside {
 public:
  // `store` must outlive this. A refold that would read more than `journal_bytes` of an
  // account's journal (on disk) runs beside.
  RefoldsBeside(ProjectionStore* store, uint64_t journal_bytes);

  // For RefoldStale: an account whose refold runs beside is left alone; a long refold is
  // left for beside.
  RefoldPolicy Policy();
  // An event was journaled (pending) for the account: a refold beside that read its
  // journal before will run again.
  void NoteJournaled(int partition, std::string_view account);
  // Stages the refolds done into `staged`. One whose account had events journaled since
  // it read the journal leaves the account stale, and runs again once `staged` is durable.
  // Fails with a refold's error.
  Status MergeDone(StagedBatch& staged);
  // The accounts the staged batch left stale (RefoldCounts::deferred).
  void Leave(std::vector<std::pair<int, std::string>> accounts);
  // The staged batch is being written; then it is durable: what it left stale is queued.
  void BatchStarted();
  void BatchDurable();
  // A partition taken up: its accounts stale in the store are queued.
  Status TakeUp(int partition);
  // A partition let go of: its refolds are dropped (its next holder finds them stale).
  void LetGo(int partition);
  // Accounts stale now, their refold queued, running or done and not merged.
  size_t size() const;
  bool empty() const { return stale_.empty(); }

 private:
  struct Leaving {
    int partition;
    std::string account;
    uint64_t generation;
  };
  uint64_t* Generation(int partition, std::string_view account);

  ProjectionStore* store_;
  uint64_t journal_bytes_;
  // partition -> account -> generation: events journaled for it since it was left stale.
  std::map<int, std::map<std::string, uint64_t, std::less<>>> stale_;
  std::vector<Leaving> leaving_;    // left stale by the staged batch
  std::vector<Leaving> in_flight_;  // by the batch being written
  DeferredRefolds worker_;          // last: its thread stops first
};

// The accounts of `partition` that are stale in the store (a refold beside that a stop
// or a crash cut short).
Result<std::vector<std::string>> StaleAccounts(const ProjectionStore& store, int partition);

}  // namespace ledger
