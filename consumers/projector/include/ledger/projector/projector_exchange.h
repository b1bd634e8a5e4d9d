// What the other threads of an instance ask of a projector, and what it reports to them.
// Asked (of a standby): which partitions to follow (Follow), which to leave to the owner
// side (Exclude), and which to let go of now, durably (Release). Reported (by any
// projector): the partitions it follows and where (Following, Behind) and those it is
// still restoring (Restoring). Thread-safe; the projector's thread takes the requests
// between batches (Take) and publishes what it holds (Report*).
#pragma once

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "ledger/base/positions.h"
#include "ledger/base/status.h"

namespace ledger {

class ProjectorExchange {
 public:
  // What the projector's thread is asked to do now.
  struct Requests {
    std::set<int> follow;  // followed and not excluded
    // Release calls waiting: each is given the status of the commit that let go of
    // their partitions (Ok if nothing had to be written).
    std::vector<std::promise<Status>> releases;
  };

  // --- asked, from any thread ---
  void Follow(std::vector<int> partitions);
  void Exclude(std::vector<int> partitions);
  // Stops following `partitions` and excludes them (until Exclude says otherwise); if the
  // projector runs, waits until it has committed what it applied of them and let them go.
  // Unavailable after `timeout`.
  Status Release(const std::vector<int>& partitions, std::chrono::milliseconds timeout);

  // --- the projector's thread ---
  void Started();
  // No request is waited for any more: every Release waiting is answered Ok (what was
  // applied is committed before the projector stops).
  void Stopped();
  Requests Take();
  void ReportFollowing(Positions following, std::map<int, int64_t> behind);
  void ReportRestoring(std::vector<int> restoring);

  // --- reported, to any thread ---
  Positions Following() const;            // followed partition -> last applied offset
  std::map<int, int64_t> Behind() const;  // followed partition -> events behind its log's end (-1 unknown)
  std::vector<int> Restoring() const;

 private:
  mutable std::mutex mu_;
  std::set<int> wanted_;                       // what Follow asked for
  std::set<int> excluded_;                     // held by the owner side
  std::vector<std::promise<Status>> releases_;
  bool running_ = false;
  bool stopped_ = false;
  Positions following_;
  std::map<int, int64_t> behind_;
  std::vector<int> restoring_;
};

}  // namespace ledger
