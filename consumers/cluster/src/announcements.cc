#include "ledger/cluster/announcements.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "ledger/base/json_input.h"

namespace ledger {


Result<std::string> AnnouncedUrl(const std::string& served, const std::string& advertise, const std::string& hostname) {
  if (!advertise.empty()) {
    std::string url = advertise;
    while (!url.empty() && url.back() == '/') url.pop_back();
    const size_t scheme = url.find("://");
    const std::string rest = scheme == std::string::npos ? "" : url.substr(scheme + 3);
    const bool known = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
    if (!known || rest.empty() || rest.front() == ':' || rest.find_first_of("/?# ") != std::string::npos) {
      return Status::InvalidInput("--http-advertise: \"" + advertise +
                                  "\" is not http://HOST[:PORT] or https://HOST[:PORT] (the address the other "
                                  "instances reach this one's API at)");
    }
    return url;
  }
  const size_t scheme = served.find("://");
  const size_t colon = served.rfind(':');
  if (scheme == std::string::npos || colon <= scheme + 2) return served;
  const std::string host = served.substr(scheme + 3, colon - scheme - 3);
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") {
    return served.substr(0, scheme + 3) + hostname + served.substr(colon);
  }
  return served;
}

std::string EncodeAnnouncement(const InstanceAnnouncement& a) {
  nlohmann::ordered_json positions = nlohmann::ordered_json::object();
  for (const auto& [p, o] : a.positions) positions[std::to_string(p)] = o;
  nlohmann::ordered_json behind = nlohmann::ordered_json::object();
  for (const auto& [p, n] : a.behind) behind[std::to_string(p)] = n;
  return nlohmann::ordered_json{{"group", a.group},
                                {"instance", a.instance},
                                {"sent_at", a.sent_at},
                                {"url", a.url},
                                {"owned", a.owned},
                                {"restoring", a.restoring},
                                {"standby", a.standby},
                                {"partition_count", a.partition_count},
                                {"positions", positions},
                                {"behind", behind}}
      .dump();
}

Result<InstanceAnnouncement> DecodeAnnouncement(std::string_view json) {
  auto parsed = ParseJsonInput(json);
  if (!parsed.ok()) return Status::InvalidInput("an instance announcement: " + parsed.status().message());
  const auto& j = *parsed;
  if (!j.is_object()) return Status::InvalidInput("an instance announcement is not a JSON object");
  InstanceAnnouncement a;
  try {
    a.group = j.value("group", "");
    a.instance = j.at("instance").get<std::string>();
    a.sent_at = j.value("sent_at", int64_t{0});
    a.url = j.value("url", "");
    a.owned = j.at("owned").get<std::vector<int>>();
    if (auto it = j.find("standby"); it != j.end()) a.standby = it->get<std::vector<int>>();
    if (auto it = j.find("restoring"); it != j.end()) a.restoring = it->get<std::vector<int>>();
    a.partition_count = j.value("partition_count", 0);
    if (auto it = j.find("positions"); it != j.end() && it->is_object()) {
      for (auto p = it->begin(); p != it->end(); ++p) a.positions[std::stoi(p.key())] = p.value().get<int64_t>();
    }
    if (auto it = j.find("behind"); it != j.end() && it->is_object()) {
      for (auto p = it->begin(); p != it->end(); ++p) a.behind[std::stoi(p.key())] = p.value().get<int64_t>();
    }
  } catch (const std::exception& e) {
    return Status::InvalidInput(std::string("an instance announcement is malformed: ") + e.what());
  }
  if (a.instance.empty()) return Status::InvalidInput("an instance announcement names no instance");
  return a;
}

bool IsGroupUrl(std::string_view url, std::string_view scheme) {
  const std::string prefix = std::string(scheme) + "://";
  if (url.substr(0, prefix.size()) != prefix) return false;
  std::string_view rest = url.substr(prefix.size());
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return false;
    host = rest.substr(0, close + 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? "" : rest.substr(1);
    if (rest == ":") return false;
  } else if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '[' ||
                    c == ']' || c == ':';
    if (!ok) return false;
  }
  if (!port.empty()) {
    if (port.size() > 5) return false;
    int n = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + (c - '0');
    }
    if (n < 1 || n > 65535) return false;
  }
  return true;
}

namespace {

std::string RecordKey(const std::string& group, const std::string& instance) { return group + "/" + instance; }

std::string TombstoneMessage(const std::string& key, int64_t sent_at) {
  return key + "\ngone\n" + std::to_string(sent_at);
}

}  // namespace

AnnouncementRecord SignAnnouncement(const InstanceAnnouncement& a, const GroupCredential& credential) {
  AnnouncementRecord r;
  r.key = RecordKey(a.group, a.instance);
  r.value = EncodeAnnouncement(a);
  r.signature = credential.Sign(r.key + "\n" + r.value);
  r.sent_at = a.sent_at;
  return r;
}

AnnouncementRecord SignTombstone(const std::string& group, const std::string& instance, int64_t sent_at,
                                 const GroupCredential& credential) {
  AnnouncementRecord r;
  r.key = RecordKey(group, instance);
  r.sent_at = sent_at;
  r.signature = credential.Sign(TombstoneMessage(r.key, sent_at));
  return r;
}

Result<ReadRecord> CheckAnnouncementRecord(const AnnouncementRecord& record, const std::string& group,
                                           std::string_view scheme, const GroupCredential& credential, int64_t now_ms,
                                           std::string* ignored) {
  auto ignore = [&](const char* reason, std::string why) -> Result<ReadRecord> {
    *ignored = reason;
    return Status::InvalidInput(std::move(why));
  };
  const std::string prefix = group + "/";
  if (record.key.rfind(prefix, 0) != 0) return ignore("other_group", "of another group");
  ReadRecord out;
  out.instance = record.key.substr(prefix.size());
  if (record.signature.empty()) return ignore("unsigned", "unsigned (no ledger-signature header)");
  if (record.value.empty()) {  // a tombstone
    if (!credential.Verifies(TombstoneMessage(record.key, record.sent_at), record.signature)) {
      return ignore("bad_signature", "a tombstone not signed with the group's secret");
    }
    if (!FreshAt(record.sent_at, now_ms)) return ignore("stale", "a tombstone sent too long ago");
    out.sent_at = record.sent_at;
    return out;
  }
  if (!credential.Verifies(record.key + "\n" + record.value, record.signature)) {
    return ignore("bad_signature", "not signed with the group's secret");
  }
  auto a = DecodeAnnouncement(record.value);
  if (!a.ok()) return ignore("malformed", a.status().message());
  if (a->group != group || a->instance != out.instance) {
    return ignore("malformed", "its group or instance is not its key's");
  }
  if (!FreshAt(a->sent_at, now_ms)) return ignore("stale", "sent too long ago (or the clocks differ)");
  if (!a->url.empty() && !IsGroupUrl(a->url, scheme)) {
    return ignore("bad_url", "its address \"" + a->url.substr(0, 200) + "\" is not " + std::string(scheme) +
                                 "://HOST[:PORT]");
  }
  out.sent_at = a->sent_at;
  out.announcement = std::move(*a);
  return out;
}

}  // namespace ledger
