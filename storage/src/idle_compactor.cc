#include "ledger/storage/idle_compactor.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <utility>

namespace ledger {

IdleCompactor::IdleCompactor(ProjectionStore* store, std::chrono::milliseconds quiet_for)
    : store_(store), quiet_for_(quiet_for), thread_([this] { Loop(); }) {}

IdleCompactor::~IdleCompactor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void IdleCompactor::WriterCaughtUp() {
  {
    std::lock_guard lock(mu_);
    caught_up_ = true;
  }
  wake_.notify_all();
}

uint64_t IdleCompactor::compactions() const {
  std::lock_guard lock(mu_);
  return compactions_;
}

uint64_t IdleCompactor::Settle(ProjectionStore* store) {
  uint64_t done = 0;
  for (int p : store->Partitions()) {
    if (store->Level0Files(p) == 0 && store->MemtableBytes(p) < kFlushFromBytes) continue;
    if (Status s = store->CompactLevel0(p, kFlushFromBytes); !s.ok()) {
      spdlog::warn("idle compaction of partition {}: {}", p, s.message());
    } else {
      ++done;
    }
  }
  return done;
}

void IdleCompactor::Loop() {
  // Like RocksDB's own background threads: answers come first.
  pthread_setname_np(pthread_self(), "ledger-idle");
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  using Clock = std::chrono::steady_clock;
  uint64_t seen = store_->writes();
  auto last_change = Clock::now();
  bool compacted = false;  // a store opened with level-0 files gets its look too
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, quiet_for_ / 4, [this] { return stop_ || caught_up_; });
    if (stop_) break;
    const bool caught_up = std::exchange(caught_up_, false);
    if (const uint64_t now = store_->writes(); now != seen) {
      seen = now;
      last_change = Clock::now();
      compacted = false;
      if (!caught_up) continue;
    } else if (!caught_up && (compacted || Clock::now() - last_change < quiet_for_)) {
      continue;
    }
    compacted = true;
    lock.unlock();
    const auto start = Clock::now();
    const uint64_t done = Settle(store_);
    if (done > 0) {
      spdlog::info("{}: merged the level-0 files of {} partition(s) into level 1 in {:.1f} s",
                   caught_up ? "caught up" : "idle", done,
                   std::chrono::duration<double>(Clock::now() - start).count());
    }
    lock.lock();
    compactions_ += done;
  }
}

}  // namespace ledger
