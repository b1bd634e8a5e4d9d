// One instance of a projector group, as a whole (in the spirit of Kafka Streams'
// TaskManager beside its StreamThread): the owner side (the group member that projects
// the partitions Kafka assigns it), the warm standby that follows partitions the others
// own, the plan of what the standby follows, the instance's announcements and its view
// of the others (instance_directory.h), and the router the HTTP API asks (group_router.h).
// `ledger project` only wires it to the store, the metrics and the API.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "ledger/base/status.h"
#include "ledger/cluster/group_router.h"
#include "ledger/projector/projector.h"

namespace ledger {

struct GroupOptions {
  ProjectorOptions projector;  // the owner side's; the standby's derives from it
  // Instances that also follow each partition as warm standbys (ledger project
  // --standbys). They need the announcements: 0 without an API.
  int standbys = 0;
  std::string advertise;  // the API address announced (--http-advertise); empty: the served one
  PeerClientOptions peers;
  // The group's shared secret (--group-secret; group_credential.h). Without it the
  // instance neither announces itself nor forwards: it answers for the partitions it owns.
  std::string secret_file;
};

class ProjectorGroup {
 public:
  // Creates the owner side and, with standbys, the standby (no Kafka traffic yet).
  // InvalidInput for a bad --http-advertise, group secret or Kafka setting. `store` and `metrics` must
  // outlive the group; `metrics` may be null.
  static Result<std::unique_ptr<ProjectorGroup>> Create(const GroupOptions& options, ProjectionStore* store,
                                                        ProjectorMetrics* metrics, prometheus::Registry& registry);
  ~ProjectorGroup();

  // Starts announcing this instance, whose API serves at `served_url`, and reading the
  // others' announcements. Until then, and if it fails (the error says why, also when
  // there is no group secret), no question is forwarded, only the partitions this
  // instance owns are answered, and no standby runs.
  Status Announce(const std::string& served_url);

  // Projects until `stop` (or caught up, see ProjectorOptions), with the standby beside
  // the owner side; returns the owner side's result. A standby's failure is written to
  // `err`.
  Status Run(const std::atomic<bool>& stop, std::ostream& err);

  const ProjectorTotals& totals() const;
  const std::string& instance() const;
  // Who answers which question, for the HTTP API. Lives as long as the group.
  GroupRouter& router();
  // {"self": ..., "others": [...]} for GET /v1/status (GroupView::Status). Thread-safe.
  nlohmann::ordered_json Describe() const;

 private:
  class Impl;
  explicit ProjectorGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger
