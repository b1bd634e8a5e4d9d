// What an instance sees of its projector group, for /metrics (refreshed with each of its
// announcements) and GET /v1/status: its own partitions by role, the partitions nobody
// serves, its standbys' lag, and every instance's announcement.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "ledger/cluster/instance_directory.h"

namespace ledger {

class GroupView {
 public:
  // Registers ledger_group_partitions{role}, ledger_group_partitions_unserved,
  // ledger_standby_lag_events and ledger_group_announcements_ignored_total{reason}.
  explicit GroupView(prometheus::Registry& registry);

  // From this instance's announcement and the others'. Thread-safe.
  void Update(const InstanceAnnouncement& self, const std::map<std::string, InstanceAnnouncement>& others);

  // A record of ledger.instances ignored (InstanceDirectory::Options::on_ignored).
  // Thread-safe.
  void CountIgnored(const std::string& reason);

  // {"group": ..., "self": {...}, "others": [{...}]}: each instance's id, url, owned, restoring and
  // standby partitions and positions. Thread-safe.
  nlohmann::ordered_json Status() const;

 private:
  prometheus::Family<prometheus::Gauge>& partitions_;
  prometheus::Gauge& owned_;
  prometheus::Gauge& restoring_;
  prometheus::Gauge& standby_;
  prometheus::Gauge& unserved_;
  prometheus::Gauge& standby_lag_;
  prometheus::Family<prometheus::Counter>& ignored_;
  mutable std::mutex mu_;
  InstanceAnnouncement self_;
  std::map<std::string, InstanceAnnouncement> others_;
};

}  // namespace ledger
