#include "ledger/kafka/event_log.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "ledger/base/mutex.h"
#include "ledger/schema/event_codec.h"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kReadTimeout = std::chrono::seconds(10);  // per offset
constexpr int kReachTimeoutMs = 3000;                     // the first answer of a broker

class KafkaLog : public EventLog {
 public:
  explicit KafkaLog(KafkaSettings kafka) : kafka_(std::move(kafka)) {}
  ~KafkaLog() override {
    if (!consumer_) return;
    for (int p : started_) consumer_->stop(topic_.get(), p);
  }

  Result<std::map<int64_t, std::string>> Read(int partition, std::vector<int64_t> offsets) const override {
    MutexLock lock(mu_);
    if (Status s = Connect(); !s.ok()) return s;
    if (Status s = Reachable(); !s.ok()) return s;
    const std::set<int64_t> wanted(offsets.begin(), offsets.end());
    std::map<int64_t, std::string> out;
    for (int64_t target : wanted) {
      if (out.count(target)) continue;  // met on the way to an earlier one
      if (Status s = Position(partition, target); !s.ok()) return s;
      const auto deadline = Clock::now() + kReadTimeout;
      bool done = false;
      while (!done) {
        if (Clock::now() > deadline) {
          return Status::Unavailable("cannot read " + std::string(kEventsTopic) + " [" + std::to_string(partition) +
                                     "] at offset " + std::to_string(target) + " from " + kafka_.brokers +
                                     ": no answer in " + std::to_string(kReadTimeout.count()) + " s");
        }
        std::unique_ptr<RdKafka::Message> m(consumer_->consume(topic_.get(), partition, 500));
        switch (m->err()) {
          case RdKafka::ERR_NO_ERROR:
            if (wanted.count(m->offset())) {
              out.emplace(m->offset(), std::string(static_cast<const char*>(m->payload()), m->len()));
            }
            done = m->offset() >= target;
            break;
          case RdKafka::ERR__TIMED_OUT:
            break;
          default:  // the end of the partition, or an offset the log does not hold
            done = true;
            break;
        }
      }
    }
    return out;
  }

 private:
  Status Connect() const LEDGER_REQUIRES(mu_) {
    if (consumer_) return Status::Ok();
    auto conf = MakeKafkaConf(kafka_, {{"enable.partition.eof", "true"}},
                              {{"fetch.wait.max.ms", "10"}, {"queued.max.messages.kbytes", "1024"}});
    if (!conf.ok()) return conf.status();
    std::string err;
    std::unique_ptr<RdKafka::Conf> topic_conf(RdKafka::Conf::create(RdKafka::Conf::CONF_TOPIC));
    // An offset the log no longer holds is an error, not a jump to the end.
    if (topic_conf->set("auto.offset.reset", "error", err) != RdKafka::Conf::CONF_OK) {
      return Status::InvalidInput("auto.offset.reset: " + err);
    }
    consumer_.reset(RdKafka::Consumer::create(conf->get(), err));
    if (!consumer_) return Status::Unavailable("cannot create a Kafka client to read " + std::string(kEventsTopic) + ": " + err);
    topic_.reset(RdKafka::Topic::create(consumer_.get(), std::string(kEventsTopic), topic_conf.get(), err));
    if (!topic_) {
      consumer_.reset();
      return Status::Unavailable("cannot read " + std::string(kEventsTopic) + ": " + err);
    }
    return Status::Ok();
  }

  // One question to the broker first (the topic's metadata): when none answers, the
  // reader says so within seconds instead of waiting out the read timeout.
  Status Reachable() const LEDGER_REQUIRES(mu_) {
    RdKafka::Metadata* raw = nullptr;
    const RdKafka::ErrorCode rc = consumer_->metadata(false, topic_.get(), &raw, kReachTimeoutMs);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (rc == RdKafka::ERR_NO_ERROR) return Status::Ok();
    return Status::Unavailable("cannot read " + std::string(kEventsTopic) + " from " + kafka_.brokers +
                               ": no broker answered within " + std::to_string(kReachTimeoutMs / 1000) + " s (" +
                               RdKafka::err2str(rc) + ")");
  }

  // The next message consumed from `partition` is the one at `offset` (or after it).
  Status Position(int partition, int64_t offset) const LEDGER_REQUIRES(mu_) {
    RdKafka::ErrorCode rc = RdKafka::ERR_NO_ERROR;
    if (started_.insert(partition).second) {
      rc = consumer_->start(topic_.get(), partition, offset);
    } else {
      rc = consumer_->seek(topic_.get(), partition, offset, static_cast<int>(kReadTimeout.count() * 1000));
    }
    if (rc != RdKafka::ERR_NO_ERROR) {
      return Status::Unavailable("cannot read " + std::string(kEventsTopic) + " [" + std::to_string(partition) +
                                 "] at offset " + std::to_string(offset) + ": " + RdKafka::err2str(rc));
    }
    return Status::Ok();
  }

  KafkaSettings kafka_;
  mutable Mutex mu_;  // one read at a time: the client is positioned per read
  mutable std::unique_ptr<RdKafka::Consumer> consumer_ LEDGER_GUARDED_BY(mu_);
  mutable std::unique_ptr<RdKafka::Topic> topic_ LEDGER_GUARDED_BY(mu_);
  mutable std::set<int> started_ LEDGER_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<EventLog> KafkaEventLog(const KafkaSettings& kafka) { return std::make_unique<KafkaLog>(kafka); }

}  // namespace ledger
