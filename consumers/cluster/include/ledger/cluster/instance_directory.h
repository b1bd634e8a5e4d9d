// Who owns which partition of ledger.events, learnt from Kafka itself: every instance of
// a projector group announces, every second, on the compacted topic ledger.instances, its
// API's address, the partitions it owns and the positions it has projected, signed with
// the group's secret; every instance reads its group's announcements (announcements.h:
// the records, and which are ignored, counted and logged). An announcement older than
// kStaleAfter (by the reader's clock, from when it was read) counts as gone; a stopping
// instance deletes its own (a signed tombstone, which unseats nothing announced after
// it). A question about an account is then answered by the instance owning the
// account's partition (group_router.h forwards).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/cluster/announcements.h"
#include "ledger/cluster/group_credential.h"
#include "ledger/kafka/kafka_config.h"

namespace ledger {

class InstanceDirectory {
 public:
  static constexpr std::chrono::milliseconds kInterval{1000};
  static constexpr std::chrono::milliseconds kStaleAfter{3000};

  struct Options {
    KafkaSettings kafka;
    std::string group;     // this instance's projector group
    std::string scheme;    // "http" or "https": the group's API
    const GroupCredential* credential = nullptr;  // required; must outlive the directory
    // Called, on the directory's thread, for each record ignored, with its reason.
    std::function<void(const std::string& reason)> on_ignored;
  };
  // Starts announcing `self()` (called every kInterval on the directory's thread; it
  // must be thread-safe; the directory sets its group and sent_at) and reading every
  // announcement. Fails if the clients cannot be configured; a missing topic or broker
  // is logged and retried, and until then the directory knows no other instance.
  static Result<std::unique_ptr<InstanceDirectory>> Start(const Options& options,
                                                          std::function<InstanceAnnouncement()> self);
  // Stops, deleting this instance's announcement (a tombstone, flushed for up to 2 s).
  ~InstanceDirectory();

  // The fresh announcements of the other instances of the group, by instance id.
  // Thread-safe.
  std::map<std::string, InstanceAnnouncement> Others() const;
  // Whether it has read ledger.instances up to where it ended when the directory started
  // (before that, Others() may lack instances that are running). Thread-safe.
  bool Heard() const;

 private:
  class Impl;
  explicit InstanceDirectory(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger
