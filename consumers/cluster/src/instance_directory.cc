#include "ledger/cluster/instance_directory.h"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

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

class InstanceDirectory::Impl {
 public:
  Options options;
  std::function<InstanceAnnouncement()> self;
  std::unique_ptr<RdKafka::Producer> producer;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::atomic<bool> stopping{false};
  std::atomic<bool> heard{false};
  int64_t heard_until = -1;  // the topic's end when first known (the directory's thread only)
  std::thread thread;

  mutable std::mutex mu;
  struct Seen {
    InstanceAnnouncement announcement;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::string, Seen> seen;        // guarded by mu
  std::map<std::string, int64_t> gone_at;  // instance -> its newest tombstone's sent_at; guarded by mu
  std::string own_id;                      // guarded by mu

  void Announce(const AnnouncementRecord& r) {
    auto* headers = RdKafka::Headers::create();
    headers->add("ledger-signature", r.signature);
    headers->add("ledger-sent-at", std::to_string(r.sent_at));
    const RdKafka::ErrorCode err = producer->produce(
        std::string(kInstancesTopic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        r.value.empty() ? nullptr : const_cast<char*>(r.value.data()), r.value.size(), r.key.data(), r.key.size(), 0,
        headers, nullptr);
    if (err != RdKafka::ERR_NO_ERROR) {
      delete headers;  // still ours when not enqueued
      spdlog::warn("{}: not announced: {}", kInstancesTopic, RdKafka::err2str(err));
    }
  }

  static std::string Header(RdKafka::Message& m, const std::string& name) {
    RdKafka::Headers* headers = m.headers();
    if (headers == nullptr) return "";
    RdKafka::Headers::Header h = headers->get_last(name);
    if (h.err() != RdKafka::ERR_NO_ERROR || h.value() == nullptr) return "";
    return std::string(static_cast<const char*>(h.value()), h.value_size());
  }

  void Ignore(const std::string& reason, const std::string& key, const std::string& why) {
    if (options.on_ignored) options.on_ignored(reason);
    if (reason == "other_group") return;  // another group's own business
    static std::atomic<int> logged{0};
    if (logged++ % 60 == 0) {
      spdlog::warn("{}: a record ignored (key \"{}\"): {}", kInstancesTopic, key.substr(0, 200), why);
    }
  }

  void Read(RdKafka::Message& m) {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      if (m.err() != RdKafka::ERR__TIMED_OUT && m.err() != RdKafka::ERR__PARTITION_EOF) {
        static std::atomic<int> logged{0};
        if (logged++ % 60 == 0) spdlog::warn("{}: {}", kInstancesTopic, m.errstr());
      }
      return;
    }
    if (heard_until >= 0 && m.offset() + 1 >= heard_until) heard = true;
    AnnouncementRecord r;
    r.key.assign(static_cast<const char*>(m.key_pointer() ? m.key_pointer() : ""), m.key_len());
    if (m.payload() != nullptr) r.value.assign(static_cast<const char*>(m.payload()), m.len());
    r.signature = Header(m, "ledger-signature");
    const std::string sent_at = Header(m, "ledger-sent-at");
    r.sent_at = std::strtoll(sent_at.c_str(), nullptr, 10);
    std::string ignored;
    auto checked = CheckAnnouncementRecord(r, options.group, options.scheme, *options.credential, NowMs(), &ignored);
    if (!checked.ok()) return Ignore(ignored, r.key, checked.status().message());
    std::lock_guard lock(mu);
    int64_t& gone = gone_at[checked->instance];
    if (!checked->announcement) {  // a tombstone unseats nothing announced after it
      gone = std::max(gone, checked->sent_at);
      auto it = seen.find(checked->instance);
      if (it != seen.end() && it->second.announcement.sent_at <= checked->sent_at) seen.erase(it);
      return;
    }
    if (checked->sent_at <= gone) return;  // announced before the instance stopped
    auto it = seen.find(checked->instance);
    if (it != seen.end() && it->second.announcement.sent_at > checked->sent_at) return;  // an older one, replayed
    seen[checked->instance] = Seen{std::move(*checked->announcement), std::chrono::steady_clock::now()};
  }

  // Where ledger.instances ends now: what must be read before the group is heard.
  void LearnEnd() {
    int64_t low = 0, high = 0;
    if (consumer->query_watermark_offsets(std::string(kInstancesTopic), 0, &low, &high, 2000) !=
        RdKafka::ERR_NO_ERROR) {
      return;  // asked again on the next round
    }
    heard_until = high;
    if (high <= low) heard = true;  // nothing to read
  }

  InstanceAnnouncement Own() {
    InstanceAnnouncement a = self();
    a.group = options.group;
    a.sent_at = NowMs();
    return a;
  }

  void Run() {
    auto next = std::chrono::steady_clock::now();
    while (!stopping.load()) {
      if (heard_until < 0) LearnEnd();
      if (std::chrono::steady_clock::now() >= next) {
        InstanceAnnouncement a = Own();
        {
          std::lock_guard lock(mu);
          own_id = a.instance;
        }
        Announce(SignAnnouncement(a, *options.credential));
        next += kInterval;
      }
      producer->poll(0);
      std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
      if (m) Read(*m);
    }
  }
};

InstanceDirectory::InstanceDirectory(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<InstanceDirectory>> InstanceDirectory::Start(const Options& options,
                                                                    std::function<InstanceAnnouncement()> self) {
  if (options.credential == nullptr) return Status::InvalidInput("the instances' announcements need the group's secret");
  const KafkaSettings& kafka = options.kafka;
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->self = std::move(self);
  std::string err;
  auto pconf = MakeKafkaConf(kafka, {{"enable.idempotence", "false"}}, {{"linger.ms", "0"}});
  if (!pconf.ok()) return pconf.status();
  impl->producer.reset(RdKafka::Producer::create(pconf->get(), err));
  if (!impl->producer) return Status::InvalidInput("the instances producer: " + err);
  // Every announcement, from the start: no group offsets of its own to keep.
  auto cconf = MakeKafkaConf(kafka, {{"group.id", options.group + ".instances-reader"}, {"enable.auto.commit", "false"},
                                     {"enable.partition.eof", "false"}});
  if (!cconf.ok()) return cconf.status();
  impl->consumer.reset(RdKafka::KafkaConsumer::create(cconf->get(), err));
  if (!impl->consumer) return Status::InvalidInput("the instances reader: " + err);
  std::unique_ptr<RdKafka::TopicPartition> tp(
      RdKafka::TopicPartition::create(std::string(kInstancesTopic), 0, RdKafka::Topic::OFFSET_BEGINNING));
  std::vector<RdKafka::TopicPartition*> tps{tp.get()};
  if (impl->consumer->assign(tps) != RdKafka::ERR_NO_ERROR) {
    return Status::Unavailable("cannot read " + std::string(kInstancesTopic));
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<InstanceDirectory>(new InstanceDirectory(std::move(impl)));
}

InstanceDirectory::~InstanceDirectory() {
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  const InstanceAnnouncement gone = impl_->Own();
  impl_->Announce(SignTombstone(gone.group, gone.instance, gone.sent_at, *impl_->options.credential));
  impl_->producer->flush(2000);
  impl_->consumer->close();
}

std::map<std::string, InstanceAnnouncement> InstanceDirectory::Others() const {
  std::map<std::string, InstanceAnnouncement> out;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(impl_->mu);
  for (const auto& [id, s] : impl_->seen) {
    if (id == impl_->own_id || now - s.at > kStaleAfter) continue;
    out.emplace(id, s.announcement);
  }
  return out;
}

bool InstanceDirectory::Heard() const { return impl_->heard.load(); }

}  // namespace ledger
