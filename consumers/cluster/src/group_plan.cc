#include "ledger/cluster/group_plan.h"

#include <algorithm>

#include "ledger/kafka/partitioner.h"

namespace ledger {

bool Holds(const std::vector<int>& partitions, int partition) {
  return std::find(partitions.begin(), partitions.end(), partition) != partitions.end();
}

namespace {

bool Within(const LocalPartitions& self, int p, const ReadBound& bound) {
  if (!bound.max_lag) return true;
  auto it = self.behind.find(p);
  return it != self.behind.end() && it->second >= 0 && it->second <= *bound.max_lag;
}

int64_t BehindHere(const LocalPartitions& self, int p) {
  auto it = self.behind.find(p);
  return it == self.behind.end() ? -1 : it->second;
}

bool OwnsCaughtUp(const LocalPartitions& self, int p) { return Holds(self.owned, p) && !Holds(self.restoring, p); }

// Follows `p` and has caught up with it once: a standby just given a partition answers
// nothing of it until then (its store may not hold the partition's accounts yet).
bool FollowsCaughtUp(const LocalPartitions& self, int p) {
  return Holds(self.following, p) && !Holds(self.following_restoring, p);
}

// Why nobody answers for `p` now.
Status NobodyFor(int p, const LocalPartitions& self, const ReadBound& bound) {
  if (FollowsCaughtUp(self, p) && !Within(self, p, bound)) {
    const int64_t behind = BehindHere(self, p);
    return Status::Unavailable("partition " + std::to_string(p) + ": its owner does not answer and its standby here is " +
                               (behind < 0 ? std::string("an unknown number of") : std::to_string(behind)) +
                               " events behind, more than max_lag=" + std::to_string(*bound.max_lag) + "; ask again");
  }
  return Status::Unavailable("partition " + std::to_string(p) +
                             " has no owner or standby answering now: a hand-over is under way; ask again");
}

// Alone: it has heard its group, no other instance announces itself and this one owns
// every partition (a single projector; catching up or not, its store is the only one).
// Not when it owns some only: the others' announcements may just be late.
bool Alone(const LocalPartitions& self, const Announcements& others) {
  if (!others.empty() || !self.heard_group || self.partition_count <= 0) return false;
  for (int p = 0; p < self.partition_count; ++p) {
    if (!Holds(self.owned, p)) return false;
  }
  return true;
}

// The partitions of ledger.events: as this instance's assignment says, else as the
// others announce it (an instance not assigned any yet still routes); 0: not known.
int PartitionCount(const LocalPartitions& self, const Announcements& others) {
  int count = self.partition_count;
  if (count <= 0) {
    for (const auto& [id, a] : others) count = std::max(count, a.partition_count);
  }
  return count;
}

Status NotJoined() {
  return Status::Unavailable("this instance has not joined its group yet (no partitions assigned, no other instance "
                             "heard); ask again");
}

// Nobody answers for `p` now; before this instance has heard its group, that may only
// be because it has not read every announcement yet.
Status NobodyYet(int p, const LocalPartitions& self, const ReadBound& bound) {
  if (!self.heard_group) {
    return Status::Unavailable("this instance is still reading its group's announcements (who answers for partition " +
                               std::to_string(p) + "); ask again");
  }
  return NobodyFor(p, self, bound);
}

}  // namespace

std::optional<Answerer> AnswererOf(int p, const LocalPartitions& self, const Announcements& others,
                                   const ReadBound& bound) {
  if (OwnsCaughtUp(self, p)) return Answerer{"", p, false, 0};
  bool owner_silent = false;  // announced (its grace not over) but failed to answer
  for (const auto& [id, a] : others) {
    if (!Holds(a.owned, p) || a.url.empty()) continue;  // announced owned: caught up
    if (!bound.unreachable.count(a.url)) return Answerer{a.url, p, false, 0};
    owner_silent = true;
  }
  if (owner_silent && !bound.max_lag) return std::nullopt;  // the owner only, until its grace is over
  if (FollowsCaughtUp(self, p) && Within(self, p, bound)) return Answerer{"", p, true, BehindHere(self, p)};
  // Another instance's standby: the least behind as announced, within the bound (each
  // checks its own lag again when asked).
  std::optional<Answerer> best;
  for (const auto& [id, a] : others) {
    if (!Holds(a.standby, p) || a.url.empty() || bound.unreachable.count(a.url)) continue;
    auto it = a.behind.find(p);
    const int64_t behind = it == a.behind.end() ? -1 : it->second;
    if (bound.max_lag && (behind < 0 || behind > *bound.max_lag)) continue;
    if (!best || (behind >= 0 && (best->behind < 0 || behind < best->behind))) best = Answerer{a.url, p, true, behind};
  }
  return best;
}

Result<Answerer> RouteAccount(const LocalPartitions& self, const Announcements& others, const std::string& account,
                              const ReadBound& bound) {
  const int count = PartitionCount(self, others);
  if (count <= 0) return NotJoined();
  const int p = KafkaPartitionOf(account, count);
  if (Alone(self, others)) return Answerer{"", p, false, 0};
  if (bound.forwarded) {  // the asking instance chose this one: answer from what it holds, or not at all
    if (Status s = AnswersHere(self, {p}, bound); !s.ok()) return s;
    return Answerer{"", p, !OwnsCaughtUp(self, p), OwnsCaughtUp(self, p) ? 0 : BehindHere(self, p)};
  }
  auto where = AnswererOf(p, self, others, bound);
  if (!where) return NobodyYet(p, self, bound);
  return *where;
}

Result<std::map<std::string, std::vector<int>>> PlanList(const LocalPartitions& self, const Announcements& others,
                                                         const ReadBound& bound) {
  std::map<std::string, std::vector<int>> plan;
  const int count = PartitionCount(self, others);
  if (count <= 0) return NotJoined();
  if (Alone(self, others)) return plan;
  for (int p = 0; p < count; ++p) {
    auto where = AnswererOf(p, self, others, bound);
    if (!where) return NobodyYet(p, self, bound);
    plan[where->url].push_back(p);
  }
  return plan;
}

Status AnswersHere(const LocalPartitions& self, const std::vector<int>& partitions, const ReadBound& bound) {
  if (self.partition_count <= 0) return NotJoined();
  for (int p : partitions) {
    if (OwnsCaughtUp(self, p) || (FollowsCaughtUp(self, p) && Within(self, p, bound))) continue;
    if (FollowsCaughtUp(self, p)) return NobodyFor(p, self, bound);
    const bool catching_up = Holds(self.owned, p) || Holds(self.following, p);
    return Status::Unavailable("partition " + std::to_string(p) + " is not answered here (" +
                               (catching_up ? "still catching up with it" : "no longer held") +
                               "): it is being handed over; ask again");
  }
  return Status::Ok();
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
