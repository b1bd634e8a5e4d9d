// The refolds of long accounts, on a thread of their own. When a late event makes an
// account's whole journal fold again and the journal is long, the projector leaves the
// account stale in the store (readers then fold its journal themselves) and hands the
// refold here, so that the other accounts' events are never held behind it. A refold
// reads the account's journal and state as the store holds them (durable batches only)
// and hands back the changes; the projector stages them in a later batch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/rules/rules.h"
#include "ledger/storage/projection_store.h"

namespace ledger {

class DeferredRefolds {
 public:
  // A refold done: the changes that make the account's stored state the fold of the
  // journal entries it read (journal entries among them, no longer pending, and the fold
  // head), or the error.
  struct Done {
    int partition = 0;
    std::string account;
    uint64_t generation = 0;  // as given to Add
    Result<std::vector<Change>> changes = Status::Unavailable("not run");
  };

  // `store` must outlive this. Starts the thread.
  explicit DeferredRefolds(const ProjectionStore* store);
  ~DeferredRefolds();  // stops and joins the thread; queued refolds are dropped

  // Queues the account's refold; every journal entry of it the caller knows of must be in
  // the store. `generation` comes back with the result. Thread-safe.
  void Add(int partition, std::string account, uint64_t generation);
  // The refolds done since the last call. Thread-safe.
  std::vector<Done> Take();
  // Drops the partition's queued and done refolds; one running is dropped when done.
  void Forget(int partition);
  // Queued, running or done and not taken.
  size_t size() const;

 private:
  void Loop();

  const ProjectionStore* store_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Done> queued_;
  std::vector<Done> done_;
  std::set<int> forgotten_;  // while a refold of the partition runs
  bool running_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ledger
