#include "ledger/cluster/instance_directory.h"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace ledger {

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
