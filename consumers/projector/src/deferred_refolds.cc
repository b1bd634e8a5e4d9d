#include "deferred_refolds.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "ledger/base/text.h"
#include "ledger/rules/journal.h"

namespace ledger {
namespace {

// The account's whole journal and its state as the store holds them, folded again.
Result<std::vector<Change>> RefoldFromStore(const ProjectionStore& store, int partition, const std::string& account) {
  std::map<std::string, std::string, std::less<>> entries;
  Status scanned = store.ScanJournal(partition, account, [&](std::string_view k, std::string_view v) {
    entries.emplace(std::string(k), std::string(v));
    return true;
  });
  if (!scanned.ok()) return scanned;
  const JournalScan journal = [&](Millis from, const std::function<void(std::string_view, std::string_view)>& visit) {
    for (const auto& [k, v] : entries) {
      if (from > 0) {
        auto entry = DecodeJournalEntry(k, v);
        if (entry.ok() && entry->occurred_at < from) continue;
      }
      visit(k, v);
    }
    return Status::Ok();
  };
  std::map<std::string, std::optional<std::string>, std::less<>> read;  // the values looked up, kept alive
  const StateLookup lookup = [&](std::string_view key) -> Result<std::optional<std::string_view>> {
    auto it = read.find(key);
    if (it == read.end()) {
      auto value = store.Get(partition, key);
      if (!value.ok()) return value.status();
      it = read.emplace(std::string(key), std::move(*value)).first;
    }
    if (!it->second) return std::optional<std::string_view>();
    return std::optional<std::string_view>(*it->second);
  };
  return RefoldAccount(account, partition, journal, lookup);
}

}  // namespace

DeferredRefolds::DeferredRefolds(const ProjectionStore* store) : store_(store), thread_([this] { Loop(); }) {}

DeferredRefolds::~DeferredRefolds() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DeferredRefolds::Add(int partition, std::string account, uint64_t generation) {
  {
    std::lock_guard lock(mu_);
    Done d;
    d.partition = partition;
    d.account = std::move(account);
    d.generation = generation;
    queued_.push_back(std::move(d));
  }
  wake_.notify_all();
}

std::vector<DeferredRefolds::Done> DeferredRefolds::Take() {
  std::lock_guard lock(mu_);
  return std::exchange(done_, {});
}

void DeferredRefolds::Forget(int partition) {
  std::lock_guard lock(mu_);
  std::erase_if(queued_, [&](const Done& d) { return d.partition == partition; });
  std::erase_if(done_, [&](const Done& d) { return d.partition == partition; });
  if (running_) forgotten_.insert(partition);
}

size_t DeferredRefolds::size() const {
  std::lock_guard lock(mu_);
  return queued_.size() + done_.size() + (running_ ? 1 : 0);
}

void DeferredRefolds::Loop() {
  // Below the projecting and answering threads: it is the one that may wait.
  pthread_setname_np(pthread_self(), "ledger-refold");
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 5);
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !queued_.empty(); });
    if (stop_) return;
    Done d = std::move(queued_.front());
    queued_.pop_front();
    running_ = true;
    forgotten_.clear();
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    d.changes = RefoldFromStore(*store_, d.partition, d.account);
    spdlog::info("refolded account {} in partition {} beside the projection: {} ms", Printable(d.account, 128),
                 d.partition,
                 std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                     .count());
    lock.lock();
    running_ = false;
    if (!forgotten_.count(d.partition)) done_.push_back(std::move(d));
  }
}

}  // namespace ledger
