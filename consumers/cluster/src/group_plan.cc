#include "ledger/cluster/group_plan.h"

#include <algorithm>

#include "ledger/kafka/partitioner.h"

namespace ledger {

bool Holds(const std::vector<int>& partitions, int partition) {
  return std::find(partitions.begin(), partitions.end(), partition) != partitions.end();
}

std::optional<std::string> AnswererOf(int p, const LocalPartitions& self, const Announcements& others) {
  if (Holds(self.owned, p) && !Holds(self.restoring, p)) return std::string();
  for (const auto& [id, a] : others) {
    if (Holds(a.owned, p) && !a.url.empty()) return a.url;  // announced owned: caught up
  }
  if (Holds(self.following, p)) return std::string();
  for (const auto& [id, a] : others) {
    if (Holds(a.standby, p) && !a.url.empty()) return a.url;
  }
  return std::nullopt;
}

namespace {

Status NobodyFor(int p) {
  return Status::Unavailable("partition " + std::to_string(p) +
                             " has no owner or standby announcing itself now: a hand-over is under way; ask again");
}

// Alone: no other instance announces itself and this one owns every partition (a single
// projector; catching up or not, its store is the only one). Not when it owns some only:
// the others' announcements may just be late.
bool Alone(const LocalPartitions& self, const Announcements& others) {
  if (!others.empty()) return false;
  for (int p = 0; p < self.partition_count; ++p) {
    if (!Holds(self.owned, p)) return false;
  }
  return true;
}

}  // namespace

Result<std::string> RouteAccount(const LocalPartitions& self, const Announcements& others, const std::string& account) {
  if (self.partition_count <= 0 || Alone(self, others)) return std::string();
  const int p = KafkaPartitionOf(account, self.partition_count);
  auto where = AnswererOf(p, self, others);
  if (!where) return NobodyFor(p);
  return *where;
}

Result<std::map<std::string, std::vector<int>>> PlanList(const LocalPartitions& self, const Announcements& others) {
  std::map<std::string, std::vector<int>> plan;
  if (self.partition_count <= 0 || Alone(self, others)) return plan;
  for (int p = 0; p < self.partition_count; ++p) {
    auto where = AnswererOf(p, self, others);
    if (!where) return NobodyFor(p);
    plan[*where].push_back(p);
  }
  return plan;
}

std::vector<int> StandbyPartitions(const std::string& self, const LocalPartitions& mine, const Announcements& others,
                                   int standbys) {
  std::vector<std::string> ring{self};
  for (const auto& [id, a] : others) ring.push_back(id);
  std::sort(ring.begin(), ring.end());
  const int n = static_cast<int>(ring.size());
  std::vector<int> out;
  for (int p = 0; p < mine.partition_count; ++p) {
    if (Holds(mine.owned, p)) continue;
    std::string owner;
    for (const auto& [id, a] : others) {
      if (Holds(a.owned, p) || Holds(a.restoring, p)) owner = id;
    }
    if (owner.empty()) {
      if (Holds(mine.following, p)) out.push_back(p);
      continue;
    }
    const int at = static_cast<int>(std::find(ring.begin(), ring.end(), owner) - ring.begin());
    for (int k = 1; k <= std::min(standbys, n - 1); ++k) {
      if (ring[(at + k) % n] == self) out.push_back(p);
    }
  }
  return out;
}

}  // namespace ledger
