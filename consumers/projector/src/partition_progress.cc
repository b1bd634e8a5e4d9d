#include "ledger/projector/partition_progress.h"

namespace ledger {

void PartitionProgress::TakeUp(int p, int64_t next, int64_t target, SeenFilter seen) {
  next_[p] = next;
  durable_[p] = next;
  target_[p] = target;
  seen_.insert_or_assign(p, std::move(seen));
}

void PartitionProgress::LetGo(int p) {
  next_.erase(p);
  durable_.erase(p);
  target_.erase(p);
  seen_.erase(p);
}

std::set<int> PartitionProgress::Held() const {
  std::set<int> held;
  for (const auto& [p, next] : next_) held.insert(p);
  return held;
}

int64_t PartitionProgress::NextOf(int p) const {
  auto it = next_.find(p);
  return it == next_.end() ? -1 : it->second;
}

int64_t PartitionProgress::TargetOf(int p) const {
  auto it = target_.find(p);
  return it == target_.end() ? -1 : it->second;
}

SeenFilter* PartitionProgress::SeenFilterOf(int p) {
  auto it = seen_.find(p);
  return it == seen_.end() ? nullptr : &it->second;
}

bool PartitionProgress::MarkDurable(int p, int64_t next) {
  if (!Holds(p)) return false;
  durable_[p] = next;
  return true;
}

std::vector<int> PartitionProgress::Restoring(const LogEnd& end, bool learn_unknown_targets) {
  std::vector<int> restoring;
  for (auto& [p, target] : target_) {
    if (target < 0 && learn_unknown_targets) target = end(p);
    auto it = durable_.find(p);
    if (it != durable_.end() && (target < 0 || it->second < target)) restoring.push_back(p);
  }
  return restoring;
}

bool PartitionProgress::ReachedTargets() const {
  if (target_.empty()) return false;
  for (const auto& [p, target] : target_) {
    auto it = next_.find(p);
    if (target < 0 || it == next_.end() || it->second < target) return false;
  }
  return true;
}

bool PartitionProgress::AtLogEnd(const LogEnd& end) const {
  for (const auto& [p, next] : next_) {
    const int64_t high = end(p);
    if (high < 0 || next < high) return false;
  }
  return true;
}

}  // namespace ledger
