#include "ledger/projector.h"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <map>

#include "ledger/event_codec.h"
#include "ledger/publisher.h"
#include "ledger/rules.h"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;

// Header names on dead-lettered messages: why, and where the message came from.
constexpr const char* kDlqReason = "ledger.dlq.reason";
constexpr const char* kDlqTopic = "ledger.dlq.topic";
constexpr const char* kDlqPartition = "ledger.dlq.partition";
constexpr const char* kDlqOffset = "ledger.dlq.offset";

struct TopicPartitionList {
  std::vector<RdKafka::TopicPartition*> items;
  ~TopicPartitionList() { RdKafka::TopicPartition::destroy(items); }
};

}  // namespace

class Projector::Impl : public RdKafka::RebalanceCb {
 public:
  Impl(const ProjectorOptions& options, ProjectionStore* store, ProjectorMetrics* metrics)
      : options_(options), store_(store), metrics_(metrics), staged_(store) {}

  Status Init() {
    KafkaProperties fixed = {
        {"group.id", options_.group_id},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "false"},
    };
    if (!options_.instance_id.empty()) fixed.emplace_back("group.instance.id", options_.instance_id);
    auto conf = MakeKafkaConf(options_.kafka, fixed);
    if (!conf.ok()) return conf.status();
    std::string err;
    if ((*conf)->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
        RdKafka::Conf::CONF_OK) {
      return Status::InvalidInput("rebalance_cb: " + err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
    if (!consumer_) return Status::InvalidInput("cannot create the Kafka consumer: " + err);
    auto dlq = Publisher::Create(options_.kafka);
    if (!dlq.ok()) return dlq.status();
    dead_letters_ = std::move(*dlq);
    return Status::Ok();
  }

  Status Run(const std::atomic<bool>& stop) {
    RdKafka::ErrorCode rc = consumer_->subscribe({std::string(kEventsTopic)});
    if (rc != RdKafka::ERR_NO_ERROR) {
      return Status::Unavailable("cannot subscribe to " + std::string(kEventsTopic) + ": " +
                                 RdKafka::err2str(rc));
    }
    while (!stop.load() && failure_.ok()) {
      Status s = ConsumeBatch(stop);
      if (s.ok()) s = CommitBatch();
      if (!s.ok()) {
        failure_ = s;
        break;
      }
      if (options_.stop_when_caught_up && CaughtUp()) break;
    }
    if (failure_.ok()) failure_ = CommitBatch();
    consumer_->close();  // leaves the group; a revoke callback commits nothing new
    return failure_;
  }

  // RdKafka::RebalanceCb: resume every assigned partition from the store's offset.
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      for (auto* tp : partitions) {
        auto next = store_->NextOffset(tp->partition());
        if (!next.ok()) {
          failure_ = next.status();
          continue;
        }
        const int64_t offset = next->value_or(RdKafka::Topic::OFFSET_BEGINNING);
        tp->set_offset(offset);
        next_[tp->partition()] = next->value_or(0);
        int64_t low = 0, high = 0;
        if (consumer->query_watermark_offsets(tp->topic(), tp->partition(), &low, &high, 5000) ==
            RdKafka::ERR_NO_ERROR) {
          target_[tp->partition()] = high;
        } else {
          target_[tp->partition()] = -1;  // unknown: never "caught up"
        }
        spdlog::info("assigned {} [{}] from offset {}", tp->topic(), tp->partition(),
                     next->has_value() ? std::to_string(**next) : "beginning");
      }
      consumer->assign(partitions);
    } else {
      // Whatever was applied must be durable before another member takes over.
      Status s = CommitBatch();
      if (!s.ok()) failure_ = s;
      for (auto* tp : partitions) {
        next_.erase(tp->partition());
        target_.erase(tp->partition());
      }
      consumer->unassign();
      spdlog::info("partitions revoked ({})", partitions.size());
    }
  }

  ProjectorTotals totals;

 private:
  // Consumes until the batch is full, the wait is over or nothing more is there.
  Status ConsumeBatch(const std::atomic<bool>& stop) {
    const auto deadline = Clock::now() + options_.max_wait;
    while (batch_events_ < options_.max_batch && !stop.load() && failure_.ok()) {
      int timeout_ms = 0;
      if (batch_events_ == 0) {
        timeout_ms = 100;
      } else {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        timeout_ms = static_cast<int>(left.count());
      }
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(timeout_ms));
      switch (m->err()) {
        case RdKafka::ERR_NO_ERROR: {
          Status s = HandleMessage(*m);
          if (!s.ok()) return s;
          break;
        }
        case RdKafka::ERR__TIMED_OUT:
          return Status::Ok();
        case RdKafka::ERR__FATAL:
          return Status::Fatal("the consumer failed: " + m->errstr());
        default:
          // Transient (broker down, rebalance in progress): librdkafka retries.
          if (metrics_) metrics_->CountError("consume");
          spdlog::warn("consume: {}", m->errstr());
          return Status::Ok();
      }
    }
    return failure_;
  }

  Status HandleMessage(RdKafka::Message& m) {
    const int p = m.partition();
    const int64_t offset = m.offset();
    auto it = next_.find(p);
    if (it == next_.end() || offset < it->second) return Status::Ok();  // stale delivery
    ++totals.consumed;
    ++batch_events_;
    const void* data = m.payload();
    const size_t size = m.len();
    auto verified = VerifyEnvelope(data, size);
    if (!verified.ok()) {
      Status s = DeadLetter(m, verified.status().message());
      if (!s.ok()) return s;
    } else {
      const fb::Envelope& e = **verified;
      EventPosition pos{p, offset, m.timestamp().timestamp};
      auto applied = ApplyEvent(
          e, std::string_view(static_cast<const char*>(data), size), pos,
          [&](std::string_view key) { return staged_.Get(p, key); });
      if (!applied.ok()) return applied.status();
      for (auto& c : applied->changes) staged_.Put(p, std::move(c.key), std::move(c.value));
      switch (applied->outcome) {
        case Outcome::kApplied: ++totals.applied; break;
        case Outcome::kDuplicate: ++totals.duplicates; break;
        case Outcome::kAnomaly: ++totals.anomalies; break;
      }
      if (metrics_) metrics_->CountEvent(EventTypeName(e.event_type()), OutcomeName(applied->outcome));
    }
    it->second = offset + 1;
    staged_.SetNextOffset(p, offset + 1);
    return Status::Ok();
  }

  Status DeadLetter(RdKafka::Message& m, const std::string& reason) {
    std::string key = m.key() ? *m.key() : "";
    Headers headers = {{kDlqReason, reason},
                       {kDlqTopic, m.topic_name()},
                       {kDlqPartition, std::to_string(m.partition())},
                       {kDlqOffset, std::to_string(m.offset())}};
    std::string_view value(static_cast<const char*>(m.payload()), m.payload() ? m.len() : 0);
    Status s = dead_letters_->Send(kDeadLetterTopic, key, value, headers, ++dlq_tickets_);
    if (!s.ok()) return s;
    ++totals.dead_lettered;
    ++dlq_pending_;
    if (metrics_) metrics_->CountEvent("undecodable", "dead_lettered");
    spdlog::warn("dead-lettered {} [{}] @{}: {}", m.topic_name(), m.partition(), m.offset(), reason);
    return Status::Ok();
  }

  // Makes the batch durable: dead letters acknowledged first, then state and offsets in
  // one write, then (for lag monitoring only) Kafka's committed offsets.
  Status CommitBatch() {
    if (staged_.empty()) return Status::Ok();
    if (dlq_pending_ > 0) {
      DeliveryReport r = dead_letters_->Flush(std::chrono::seconds(30));
      if (!r.failed.empty()) {
        if (metrics_) metrics_->CountError("dead_letter");
        return Status::Unavailable("could not write to " + std::string(kDeadLetterTopic) + ": " +
                                   r.failed.front().second);
      }
      dlq_pending_ = 0;
    }
    const auto start = Clock::now();
    Status s = staged_.Commit();
    if (!s.ok()) {
      if (metrics_) metrics_->CountError("store");
      return s;
    }
    if (metrics_) {
      metrics_->ObserveCommit(std::chrono::duration<double>(Clock::now() - start).count(),
                              batch_events_);
    }
    batch_events_ = 0;
    TopicPartitionList offsets;
    for (const auto& [p, next] : next_) {
      auto* tp = RdKafka::TopicPartition::create(std::string(kEventsTopic), p, next);
      offsets.items.push_back(tp);
      if (metrics_) {
        int64_t low = 0, high = -1;
        consumer_->get_watermark_offsets(std::string(kEventsTopic), p, &low, &high);
        metrics_->SetPartition(p, next, high >= 0 ? high - next : -1);
      }
    }
    if (!offsets.items.empty()) consumer_->commitAsync(offsets.items);
    return Status::Ok();
  }

  bool CaughtUp() const {
    if (target_.empty()) return false;
    for (const auto& [p, high] : target_) {
      auto it = next_.find(p);
      if (high < 0 || it == next_.end() || it->second < high) return false;
    }
    return true;
  }

  ProjectorOptions options_;
  ProjectionStore* store_;
  ProjectorMetrics* metrics_;
  StagedBatch staged_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<Publisher> dead_letters_;
  std::map<int, int64_t> next_;    // assigned partition -> next offset to apply
  std::map<int, int64_t> target_;  // assigned partition -> high watermark at assignment
  size_t batch_events_ = 0;
  size_t dlq_pending_ = 0;
  uint64_t dlq_tickets_ = 0;
  Status failure_;
};

Projector::Projector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Projector::~Projector() = default;

Result<std::unique_ptr<Projector>> Projector::Create(const ProjectorOptions& options,
                                                     ProjectionStore* store,
                                                     ProjectorMetrics* metrics) {
  auto impl = std::make_unique<Impl>(options, store, metrics);
  if (Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<Projector>(new Projector(std::move(impl)));
}

Status Projector::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }

const ProjectorTotals& Projector::totals() const { return impl_->totals; }

}  // namespace ledger
