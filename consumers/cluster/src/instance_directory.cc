#include "ledger/cluster/instance_directory.h"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <atomic>
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
  return nlohmann::ordered_json{{"instance", a.instance},
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
    a.instance = j.at("instance").get<std::string>();
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

class InstanceDirectory::Impl {
 public:
  std::function<InstanceAnnouncement()> self;
  std::unique_ptr<RdKafka::Producer> producer;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::atomic<bool> stopping{false};
  std::thread thread;

  mutable std::mutex mu;
  struct Seen {
    InstanceAnnouncement announcement;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::string, Seen> seen;  // guarded by mu
  std::string own_id;                // guarded by mu

  void Announce(const InstanceAnnouncement& a, bool tombstone) {
    const std::string value = tombstone ? std::string() : EncodeAnnouncement(a);
    const RdKafka::ErrorCode err = producer->produce(
        std::string(kInstancesTopic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        tombstone ? nullptr : const_cast<char*>(value.data()), value.size(), a.instance.data(), a.instance.size(), 0,
        nullptr);
    if (err != RdKafka::ERR_NO_ERROR) spdlog::warn("{}: not announced: {}", kInstancesTopic, RdKafka::err2str(err));
  }

  void Read(RdKafka::Message& m) {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      if (m.err() != RdKafka::ERR__TIMED_OUT && m.err() != RdKafka::ERR__PARTITION_EOF) {
        static std::atomic<int> logged{0};
        if (logged++ % 60 == 0) spdlog::warn("{}: {}", kInstancesTopic, m.errstr());
      }
      return;
    }
    const std::string key(static_cast<const char*>(m.key_pointer() ? m.key_pointer() : ""), m.key_len());
    std::lock_guard lock(mu);
    if (m.payload() == nullptr || m.len() == 0) {
      seen.erase(key);
      return;
    }
    auto a = DecodeAnnouncement(std::string_view(static_cast<const char*>(m.payload()), m.len()));
    if (!a.ok() || a->instance != key) return;  // not ours to trust
    seen[key] = Seen{std::move(*a), std::chrono::steady_clock::now()};
  }

  void Run() {
    auto next = std::chrono::steady_clock::now();
    while (!stopping.load()) {
      if (std::chrono::steady_clock::now() >= next) {
        InstanceAnnouncement a = self();
        {
          std::lock_guard lock(mu);
          own_id = a.instance;
        }
        Announce(a, false);
        next += kInterval;
      }
      producer->poll(0);
      std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
      if (m) Read(*m);
    }
  }
};

InstanceDirectory::InstanceDirectory(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<InstanceDirectory>> InstanceDirectory::Start(const KafkaSettings& kafka,
                                                                    std::function<InstanceAnnouncement()> self) {
  auto impl = std::make_unique<Impl>();
  impl->self = std::move(self);
  std::string err;
  auto pconf = MakeKafkaConf(kafka, {{"enable.idempotence", "false"}}, {{"linger.ms", "0"}});
  if (!pconf.ok()) return pconf.status();
  impl->producer.reset(RdKafka::Producer::create(pconf->get(), err));
  if (!impl->producer) return Status::InvalidInput("the instances producer: " + err);
  // Every announcement, from the start: no group offsets of its own to keep.
  auto cconf = MakeKafkaConf(kafka, {{"group.id", "ledger-instances-reader"}, {"enable.auto.commit", "false"},
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
  InstanceAnnouncement gone = impl_->self();
  impl_->Announce(gone, true);
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

}  // namespace ledger
