// The records of ledger.instances, as pure functions: what an instance of a projector
// group announces (its group, API address, partitions and positions), the record that
// carries it (key "GROUP/INSTANCE", the JSON value, a signature with the group's secret,
// group_credential.h), and what a reader of a group makes of a record: its own group's,
// signed, fresh, naming its key's instance, with an address of the group's scheme, or
// ignored with a reason. instance_directory.h sends and reads them on Kafka.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/base/positions.h"
#include "ledger/base/status.h"
#include "ledger/base/text.h"
#include "ledger/cluster/group_credential.h"

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

}  // namespace ledger
