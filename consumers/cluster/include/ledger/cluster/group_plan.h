// Who answers for which partition of ledger.events in a projector group, and which
// partitions an instance follows as a standby: pure functions of this instance's own
// partitions and the announcements it has read (instance_directory.h). Every instance
// computes the same from the same announcements.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/cluster/instance_directory.h"

namespace ledger {

using Announcements = std::map<std::string, InstanceAnnouncement>;  // the others, by instance id

// This instance's part, as its projector and its standby report it.
struct LocalPartitions {
  std::vector<int> owned;      // assigned to its group member
  std::vector<int> restoring;  // of those, still catching up (their answers would be behind)
  std::vector<int> following;  // followed by its standby
  std::vector<int> following_restoring;  // of those, still catching up (not answered from)
  int partition_count = 0;     // of ledger.events; 0: not known yet (no assignment yet)
  // It has read its group's announcements (up to where they stood when it started):
  // before that it cannot know it is alone, nor that nobody answers for a partition.
  bool heard_group = true;
  // Followed partition -> events its standby is behind the partition's end (as last
  // fetched); a partition missing here is not known to be within any bound.
  std::map<int, int64_t> behind;
};

// What a question allows of the instances that may answer it.
struct ReadBound {
  // Absent: the owner only; a standby once the owner is gone (its announcement stale:
  // InstanceDirectory::kStaleAfter, the grace) or hands the partition over (restoring).
  // Given: a standby may also answer as soon as the owner does not (it failed to answer:
  // `unreachable`), and a standby answers only if at most this many events behind.
  std::optional<int64_t> max_lag;
  std::set<std::string> unreachable;  // API addresses that failed to answer just now
  bool forwarded = false;             // another instance chose this one to answer
};

// Where a question is answered.
struct Answerer {
  std::string url;      // "" this instance, else another's API address
  int partition = -1;   // the account's partition (-1: not in a group)
  bool standby = false; // answered by a standby, not the owner
  int64_t behind = 0;   // a standby: events it is behind the partition's end (another
                        // instance's as it announced it; -1: not known)
};

bool Holds(const std::vector<int>& partitions, int partition);

// Who answers for `partition`: the caught-up owner first, then (see ReadBound) a standby,
// this instance first. nullopt: nobody now (the owner is gone or catching up and no
// standby announces itself: a hand-over; or no standby within the bound).
std::optional<Answerer> AnswererOf(int partition, const LocalPartitions& self, const Announcements& others,
                                   const ReadBound& bound = {});

// Where a question about `account` is answered: here (also when this instance is alone:
// it has heard its group, owns every partition and no other announces itself), else
// another instance. A forwarded question is answered here if this instance holds the
// partition (owner, or standby within the bound), else not. Unavailable, naming why,
// when nobody answers for its partition now (an instance that owns some partitions and
// hears from no other does not answer for the rest), and before this instance knows
// the partition count (no assignment and no other instance heard).
Result<Answerer> RouteAccount(const LocalPartitions& self, const Announcements& others, const std::string& account,
                              const ReadBound& bound = {});

// Where each partition's part of a list is answered (address, "" for here -> partitions),
// each partition once; empty when this instance is alone (RouteAccount). Unavailable
// when nobody answers for one of them now, or the partition count is not known yet.
Result<std::map<std::string, std::vector<int>>> PlanList(const LocalPartitions& self, const Announcements& others,
                                                         const ReadBound& bound = {});

// A forwarded part of a list: Ok if this instance answers for every one of `partitions`
// (caught-up owner, or standby within the bound), else Unavailable naming the first it
// does not.
Status AnswersHere(const LocalPartitions& self, const std::vector<int>& partitions, const ReadBound& bound);

// The partitions `self` follows as a standby: for each partition owned by another
// instance, the `standbys` instances after its owner in the sorted ring of instance ids.
// A partition with no owner now stays followed if it was (it is warm here).
std::vector<int> StandbyPartitions(const std::string& self, const LocalPartitions& mine, const Announcements& others,
                                   int standbys);

}  // namespace ledger
