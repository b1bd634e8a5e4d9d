// Who answers for which partition of ledger.events in a projector group, and which
// partitions an instance follows as a standby: pure functions of this instance's own
// partitions and the announcements it has read (instance_directory.h). Every instance
// computes the same from the same announcements.
#pragma once

#include <map>
#include <optional>
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
  int partition_count = 0;     // of ledger.events; 0: not known yet
};

bool Holds(const std::vector<int>& partitions, int partition);

// Who answers for `partition`: "" this instance, else the API address of another; the
// caught-up owner first, then a standby (this instance first). nullopt: nobody now (the
// owner is gone or catching up and no standby announces itself: a hand-over).
std::optional<std::string> AnswererOf(int partition, const LocalPartitions& self, const Announcements& others);

// Where a question about `account` is answered: "" here (also when this instance is
// alone: it owns every partition and no other announces itself; or before it knows the
// partition count), else another instance's address; Unavailable when nobody answers
// for its partition now (an instance that owns some partitions and hears from no other
// does not answer for the rest).
Result<std::string> RouteAccount(const LocalPartitions& self, const Announcements& others, const std::string& account);

// Where each partition's part of a list is answered (address, "" for here -> partitions),
// each partition once; empty when this instance is alone (RouteAccount). Unavailable
// when nobody answers for one of them now.
Result<std::map<std::string, std::vector<int>>> PlanList(const LocalPartitions& self, const Announcements& others);

// The partitions `self` follows as a standby: for each partition owned by another
// instance, the `standbys` instances after its owner in the sorted ring of instance ids.
// A partition with no owner now stays followed if it was (it is warm here).
std::vector<int> StandbyPartitions(const std::string& self, const LocalPartitions& mine, const Announcements& others,
                                   int standbys);

}  // namespace ledger
