// Who owns which partition of ledger.events, learnt from Kafka itself: every instance of
// a projector group announces, every second, on the compacted topic ledger.instances
// (key: its instance id), its API's address, the partitions it owns and the positions it
// has projected; every instance reads all announcements. An announcement older than
// kStaleAfter (by the reader's clock, from when it was read) counts as gone; a stopping
// instance deletes its own (a tombstone). A question about an account is then answered
// by the instance owning the account's partition (ledger/http/query_server.h forwards).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/base/positions.h"
#include "ledger/base/status.h"
#include "ledger/kafka/kafka_config.h"

namespace ledger {

inline constexpr std::string_view kInstancesTopic = "ledger.instances";

struct InstanceAnnouncement {
  std::string instance;     // the group member's instance id
  std::string url;          // its HTTP API, e.g. http://127.0.0.1:8080 (empty: none)
  std::vector<int> owned;   // partitions of ledger.events it owns and has caught up with
  std::vector<int> restoring;  // partitions it owns and is still catching up with
  std::vector<int> standby; // partitions it follows as a standby (ledger project --standbys)
  int partition_count = 0;  // of ledger.events, as it knows it
  Positions positions;      // owned partition -> the last offset projected there
  std::map<int, int64_t> behind;  // standby partition -> events it is behind the partition's end
};

// The API address an instance announces: `advertise` if given (http:// or https://, a
// host, an optional port: InvalidInput naming --http-advertise otherwise), else the
// address it serves on, `served` (http://host:port), with a wildcard host (0.0.0.0, ::)
// replaced by `hostname`: the others cannot reach a wildcard.
Result<std::string> AnnouncedUrl(const std::string& served, const std::string& advertise, const std::string& hostname);

std::string EncodeAnnouncement(const InstanceAnnouncement& a);
// InvalidInput naming what is missing or malformed.
Result<InstanceAnnouncement> DecodeAnnouncement(std::string_view json);

class InstanceDirectory {
 public:
  static constexpr std::chrono::milliseconds kInterval{1000};
  static constexpr std::chrono::milliseconds kStaleAfter{3000};

  // Starts announcing `self()` (called every kInterval on the directory's thread; it
  // must be thread-safe) and reading every announcement. Fails if the clients cannot be
  // configured; a missing topic or broker is logged and retried, and until then the
  // directory knows no other instance.
  static Result<std::unique_ptr<InstanceDirectory>> Start(const KafkaSettings& kafka,
                                                          std::function<InstanceAnnouncement()> self);
  // Stops, deleting this instance's announcement (a tombstone, flushed for up to 2 s).
  ~InstanceDirectory();

  // The fresh announcements of the other instances, by instance id. Thread-safe.
  std::map<std::string, InstanceAnnouncement> Others() const;

 private:
  class Impl;
  explicit InstanceDirectory(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger
