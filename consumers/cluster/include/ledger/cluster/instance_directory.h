// Who owns which partition of ledger.events, learnt from Kafka itself: every instance of
// a projector group announces, every second, on the compacted topic ledger.instances
// (key: "GROUP/INSTANCE"), its API's address, the partitions it owns and the positions it
// has projected; every instance reads all announcements. An announcement is signed with
// the group's secret (group_credential.h) and names its group and when it was sent; one
// of another group, unsigned or wrongly signed, not fresh, naming another instance than
// its key, or whose address is not the group's scheme (https:// when the group serves
// HTTPS) is ignored and counted. An announcement older than kStaleAfter (by the reader's
// clock, from when it was read) counts as gone; a stopping instance deletes its own (a
// signed tombstone, which unseats nothing announced after it). A question about an
// account is then answered by the instance owning the account's partition
// (group_router.h forwards).
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
#include "ledger/cluster/group_credential.h"
#include "ledger/kafka/kafka_config.h"

namespace ledger {

inline constexpr std::string_view kInstancesTopic = "ledger.instances";

struct InstanceAnnouncement {
  std::string group;        // the projector group (consumer group id) it belongs to
  std::string instance;     // the group member's instance id
  int64_t sent_at = 0;      // when it was sent, ms since the epoch (the sender's clock)
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

// Whether `url` is an API address of the group's `scheme` ("http" or "https"):
// SCHEME://HOST[:PORT], nothing after.
bool IsGroupUrl(std::string_view url, std::string_view scheme);

std::string EncodeAnnouncement(const InstanceAnnouncement& a);
// InvalidInput naming what is missing or malformed.
Result<InstanceAnnouncement> DecodeAnnouncement(std::string_view json);

// A record of ledger.instances as written: key, value (empty: a tombstone) and its
// headers' signature and send time.
struct AnnouncementRecord {
  std::string key;
  std::string value;
  std::string signature;  // header ledger-signature
  int64_t sent_at = 0;    // a tombstone's (header ledger-sent-at); an announcement's is in its value
};

// The record announcing `a` (whose group, instance and sent_at are set), or its
// tombstone, signed with `credential`.
AnnouncementRecord SignAnnouncement(const InstanceAnnouncement& a, const GroupCredential& credential);
AnnouncementRecord SignTombstone(const std::string& group, const std::string& instance, int64_t sent_at,
                                 const GroupCredential& credential);

// What a reader of group `group` whose API is `scheme` makes of a record, at `now_ms`:
// the announcement (nullopt: a tombstone of `instance`), or why it is ignored
// (`ignored` gets the reason's label: other_group, unsigned, bad_signature, stale,
// malformed, bad_url).
struct ReadRecord {
  std::string instance;
  std::optional<InstanceAnnouncement> announcement;  // nullopt: a tombstone
  int64_t sent_at = 0;
};
Result<ReadRecord> CheckAnnouncementRecord(const AnnouncementRecord& record, const std::string& group,
                                           std::string_view scheme, const GroupCredential& credential, int64_t now_ms,
                                           std::string* ignored);

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
