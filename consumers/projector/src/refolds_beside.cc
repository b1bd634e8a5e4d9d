#include "refolds_beside.h"

#include <spdlog/spdlog.h>

#include "ledger/base/text.h"
#include "ledger/rules/journal.h"
#include "ledger/storage/keys.h"

namespace ledger {

RefoldsBeside::RefoldsBeside(ProjectionStore* store, uint64_t journal_bytes)
    : store_(store), journal_bytes_(journal_bytes), worker_(store) {}

RefoldPolicy RefoldsBeside::Policy() {
  RefoldPolicy policy;
  policy.elsewhere = [this](int p, std::string_view account) { return Generation(p, account) != nullptr; };
  policy.defer = [this](int p, std::string_view account, Millis from) {
    return store_->ApproximateJournalBytes(p, account, from) > journal_bytes_;
  };
  return policy;
}

uint64_t* RefoldsBeside::Generation(int p, std::string_view account) {
  auto part = stale_.find(p);
  if (part == stale_.end()) return nullptr;
  auto it = part->second.find(account);
  return it == part->second.end() ? nullptr : &it->second;
}

void RefoldsBeside::NoteJournaled(int p, std::string_view account) {
  if (uint64_t* generation = Generation(p, account)) ++*generation;
}

Status RefoldsBeside::MergeDone(StagedBatch& staged) {
  for (auto& done : worker_.Take()) {
    uint64_t* generation = Generation(done.partition, done.account);
    if (generation == nullptr) continue;  // let go of meanwhile
    if (!done.changes.ok()) return done.changes.status();
    const bool newer = *generation != done.generation;
    const std::string head_key = keys::FoldHead(done.account);
    for (Change& c : *done.changes) {
      if (newer && c.key == head_key) {
        if (auto head = DecodeFoldHead(c.value)) {
          head->stale = true;
          c.value = EncodeFoldHead(*head);
        }
      }
      if (c.erase) {
        staged.Delete(done.partition, c.key);
      } else {
        staged.Put(done.partition, c.key, c.value);
      }
    }
    if (newer) {
      leaving_.push_back({done.partition, done.account, *generation});
    } else {
      stale_[done.partition].erase(done.account);
      if (stale_[done.partition].empty()) stale_.erase(done.partition);
    }
  }
  return Status::Ok();
}

void RefoldsBeside::Leave(std::vector<std::pair<int, std::string>> accounts) {
  for (auto& [p, account] : accounts) {
    spdlog::info("account {} in partition {} is folded again beside the projection (its journal is long); "
                 "until then its questions are answered from its journal", Printable(account, 128), p);
    stale_[p][account] = 0;
    leaving_.push_back({p, std::move(account), 0});
  }
}

void RefoldsBeside::BatchStarted() { in_flight_ = std::exchange(leaving_, {}); }

void RefoldsBeside::BatchDurable() {
  for (auto& l : std::exchange(in_flight_, {})) {
    if (Generation(l.partition, l.account) != nullptr) worker_.Add(l.partition, std::move(l.account), l.generation);
  }
}

Status RefoldsBeside::TakeUp(int p) {
  auto stale = StaleAccounts(*store_, p);
  if (!stale.ok()) return stale.status();
  for (auto& account : *stale) {
    stale_[p][account] = 0;
    worker_.Add(p, std::move(account), 0);
  }
  return Status::Ok();
}

void RefoldsBeside::LetGo(int p) {
  stale_.erase(p);
  std::erase_if(leaving_, [&](const Leaving& l) { return l.partition == p; });
  worker_.Forget(p);
}

size_t RefoldsBeside::size() const {
  size_t n = 0;
  for (const auto& [p, accounts] : stale_) n += accounts.size();
  return n;
}

Result<std::vector<std::string>> StaleAccounts(const ProjectionStore& store, int partition) {
  std::vector<std::string> out;
  Status s = store.Scan(partition, keys::KindPrefix(keys::kFoldHeadTag), [&](std::string_view k, std::string_view v) {
    auto head = DecodeFoldHead(v);
    if (head && head->stale) out.emplace_back(keys::AccountOf(k));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace ledger
