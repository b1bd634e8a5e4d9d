#include "ledger/producers/publisher.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>

namespace ledger {

class Publisher::DeliveryHandler : public RdKafka::DeliveryReportCb {
 public:
  explicit DeliveryHandler(Publisher* owner) : owner_(owner) {}
  void dr_cb(RdKafka::Message& m) override {
    const auto ticket = reinterpret_cast<uint64_t>(m.msg_opaque());
    // Already reported (as undelivered by a timed-out Flush, then purged): skip.
    if (owner_->in_flight_.erase(ticket) == 0) return;
    if (m.err() == RdKafka::ERR_NO_ERROR) {
      ++owner_->report_.delivered;
      if (m.topic_name() == kEventsTopic) {
        auto [it, added] = owner_->report_.positions.emplace(m.partition(), m.offset());
        if (!added) it->second = std::max(it->second, m.offset());
      }
    } else {
      owner_->errors_->Note(RefusalOf(m.err(), m.errstr()), m.errstr() + " (" + m.topic_name() + ")");
      owner_->report_.failed.emplace_back(ticket, m.errstr());
    }
  }

 private:
  Publisher* owner_;
};

Publisher::Publisher() = default;

Publisher::~Publisher() {
  if (producer_) producer_->flush(0);
}

Result<std::unique_ptr<Publisher>> Publisher::Create(const KafkaSettings& settings) {
  auto conf = MakeKafkaConf(settings, {
                                          {"enable.idempotence", "true"},
                                          {"acks", "all"},
                                          // Java's default partitioner: any client agrees
                                          // on an account's partition.
                                          {"partitioner", "murmur2_random"},
                                      });
  if (!conf.ok()) return conf.status();
  std::unique_ptr<Publisher> p(new Publisher());
  p->delivery_ = std::make_unique<DeliveryHandler>(p.get());
  p->errors_ = std::make_unique<RefusalWatch>();
  p->settings_ = settings;
  std::string err;
  (*conf)->set("dr_cb", p->delivery_.get(), err);
  (*conf)->set("event_cb", p->errors_.get(), err);
  p->producer_.reset(RdKafka::Producer::create(conf->get(), err));
  if (!p->producer_) return Status::InvalidInput("cannot create the Kafka producer: " + err);
  return p;
}

Status Publisher::Send(std::string_view topic, std::string_view key, std::string_view value,
                       const Headers& headers, uint64_t ticket) {
  if (!errors_->fatal().empty()) return Status::Fatal("the producer failed: " + errors_->fatal());
  RdKafka::Headers* h = RdKafka::Headers::create();
  for (const auto& [k, v] : headers) h->add(k, v.data(), v.size());
  for (;;) {
    const RdKafka::ErrorCode rc = producer_->produce(
        std::string(topic), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, h,
        reinterpret_cast<void*>(ticket));
    if (rc == RdKafka::ERR_NO_ERROR) {
      in_flight_.insert(ticket);  // librdkafka owns the headers now
      producer_->poll(0);
      return Status::Ok();
    }
    if (rc == RdKafka::ERR__QUEUE_FULL) {
      producer_->poll(100);
      continue;
    }
    delete h;
    if (rc == RdKafka::ERR__FATAL) return Status::Fatal("the producer failed: " + errors_->fatal());
    return Status::InvalidInput("cannot enqueue for " + std::string(topic) + ": " +
                                RdKafka::err2str(rc));
  }
}

Status Publisher::Send(const EncodedEvent& event, uint64_t ticket) {
  return Send(event.topic, event.key, event.bytes,
              {{kHeaderType, event.type},
               {kHeaderSchemaVersion, std::to_string(kSchemaVersion)},
               {kHeaderEventId, FormatUuid(event.event_id)}},
              ticket);
}

void Publisher::Poll() { producer_->poll(0); }

DeliveryReport Publisher::Flush(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Wrong credentials or an untrusted certificate: nothing will be delivered, whatever
  // the wait (librdkafka retries them for ever).
  auto hopeless = [this] {
    const RefusalKind k = errors_->kind();
    return k == RefusalKind::kAuthentication || k == RefusalKind::kTls;
  };
  while (!in_flight_.empty() && std::chrono::steady_clock::now() < deadline && !hopeless()) {
    producer_->poll(50);
  }
  if (errors_->kind() != RefusalKind::kNone) {
    report_.refused = RefusalMessage(settings_, errors_->kind(), errors_->cause());
  }
  if (!in_flight_.empty()) {
    const std::string why = !report_.refused.empty() ? report_.refused
                            : errors_->fatal().empty()
                                ? "not acknowledged within " + std::to_string(timeout.count()) +
                                      " ms (is the broker at the configured address up?)"
                                : "the producer failed: " + errors_->fatal();
    for (uint64_t t : in_flight_) report_.failed.emplace_back(t, why);
    in_flight_.clear();
    // Messages still queued are purged so they cannot arrive after we said they failed.
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer_->poll(0);
  }
  DeliveryReport out = std::move(report_);
  report_ = {};
  return out;
}

}  // namespace ledger
