// Keeps a store that is done with a burst of writes in its best shape for answers. Each
// memtable flush adds a level-0 file, and RocksDB merges them into level 1 only once
// there are four: until then every lookup probes each of them, and the memtable too.
// When the writer says it has caught up after a backlog (WriterCaughtUp), or the store
// has had no write for a while, IdleCompactor flushes a memtable of some size and merges
// the level-0 files at once, leaving one sorted run per level; under steady ingest
// RocksDB's own compactions do the work as usual. It rewrites level 1 only after a
// backlog or when the store is quiet, and only for a partition with level-0 files or at
// least kFlushFromBytes in its memtable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "ledger/storage/projection_store.h"

namespace ledger {

class IdleCompactor {
 public:
  // Starts a thread (niced: background work) that looks every `quiet_for` / 4 and
  // compacts the level-0 files of every partition once no write has come for
  // `quiet_for`. `store` must outlive this. Failures are logged, not fatal: the store
  // stays correct, only slower to read.
  IdleCompactor(ProjectionStore* store, std::chrono::milliseconds quiet_for);
  // Stops the thread, waiting for a compaction in progress to end.
  ~IdleCompactor();
  IdleCompactor(const IdleCompactor&) = delete;
  IdleCompactor& operator=(const IdleCompactor&) = delete;

  // The writer has caught up after a backlog (ProjectorOptions::on_caught_up): settle
  // now, in the compactor's thread, instead of waiting for quiet. Returns at once.
  // Thread-safe.
  void WriterCaughtUp();

  // Idle compactions done so far (a partition each). Thread-safe.
  uint64_t compactions() const;

  // One round, now, in the calling thread: for each partition, flushes a memtable of
  // at least kFlushFromBytes and merges the level-0 files into level 1. Returns the
  // partitions compacted; failures are logged.
  static uint64_t Settle(ProjectionStore* store);
  // A smaller memtable stays: it answers from memory, and flushing each trickle of
  // writes would rewrite level 1 for a few events.
  static constexpr uint64_t kFlushFromBytes = 8u << 20;

 private:
  void Loop();

  ProjectionStore* store_;
  const std::chrono::milliseconds quiet_for_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool caught_up_ = false;  // WriterCaughtUp was called: settle at once
  uint64_t compactions_ = 0;
  std::thread thread_;
};

}  // namespace ledger
