// Where the projector stands in each partition of ledger.events it applies (owned through
// the group, or followed as a standby): the next offset to apply, the next offset durable
// in the store, where the log ended when the partition was taken up (its target), and the
// filter of the event ids its store holds. Not thread-safe: the projector's thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "ledger/projector/seen_filter.h"

namespace ledger {

class PartitionProgress {
 public:
  // The end of a partition's log as last fetched; -1 if not known.
  using LogEnd = std::function<int64_t(int partition)>;

  // Takes partition `p` up: applying goes on at `next`, which the store holds durably;
  // `target` is where its log ended (-1: not known yet, learnt later from the log's end as
  // fetched); `seen` holds the event ids the store has for it. Replaces what was held.
  void TakeUp(int p, int64_t next, int64_t target, SeenFilter seen);

  // Lets partition `p` go (revoked, or no longer followed); nothing if not held.
  void LetGo(int p);

  bool Holds(int p) const { return next_.count(p) > 0; }
  bool empty() const { return next_.empty(); }
  std::set<int> Held() const;

  // The next offset to apply of each held partition (what a commit makes durable).
  const std::map<int, int64_t>& next() const { return next_; }
  // The next offset to apply of `p`; -1 if not held.
  int64_t NextOf(int p) const;
  // Applying `p` goes on at `next` (after an event, or when its log now starts later).
  void SetNext(int p, int64_t next) { next_[p] = next; }
  // `p`'s target (where it ends for a replay with a stop offset); -1 if not held or unknown.
  int64_t TargetOf(int p) const;

  // The filter of `p`'s stored event ids; null if `p` is not held.
  SeenFilter* SeenFilterOf(int p);

  // A commit made `p` durable up to `next`. False (and nothing noted) if `p` was let go
  // meanwhile.
  bool MarkDurable(int p, int64_t next);

  // The partitions held whose store is not yet durable up to their target: taken up and
  // still catching up. An unknown target is taken from `end` first (when
  // `learn_unknown_targets`), so that a partition taken up while its end could not be
  // read is restoring until the end as fetched since is reached, not forever.
  std::vector<int> Restoring(const LogEnd& end, bool learn_unknown_targets);

  // Every held partition applied up to its target (none unknown); false if none is held.
  bool ReachedTargets() const;

  // Every held partition applied up to the end of its log as last fetched (none unknown).
  bool AtLogEnd(const LogEnd& end) const;

 private:
  std::map<int, int64_t> next_;     // held partition -> next offset to apply
  std::map<int, int64_t> durable_;  // held partition -> next offset durable in the store
  std::map<int, int64_t> target_;   // held partition -> the log's end when taken up
  std::map<int, SeenFilter> seen_;  // held partition -> the event ids its store holds
};

}  // namespace ledger
