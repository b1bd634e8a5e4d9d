#include "reference_follower.h"

#include "ledger/kafka/kafka_refusal.h"
#include "ledger/rules/reference.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/keys.h"

namespace ledger {

ReferenceFollower::~ReferenceFollower() {
  if (consumer_) consumer_->close();
}

Result<std::unique_ptr<ReferenceFollower>> ReferenceFollower::Create(
    const KafkaSettings& kafka, const std::string& group_id, ProjectionStore* store,
    std::optional<std::map<int, int64_t>> stop_at, DeadLetter dead_letter) {
  // Assigned, not subscribed: the group id is required by the client but never joined
  // and no offset is committed to it.
  auto conf = MakeKafkaConf(kafka, {{"group.id", group_id + ".reference"},
                                    {"enable.auto.commit", "false"},
                                    {"enable.auto.offset.store", "false"},
                                    {"enable.partition.eof", "false"}});
  if (!conf.ok()) return conf.status();
  std::unique_ptr<ReferenceFollower> f(new ReferenceFollower());
  f->kafka_ = kafka;
  f->store_ = store;
  f->stop_at_ = std::move(stop_at);
  f->dead_letter_ = std::move(dead_letter);
  std::string err;
  if ((*conf)->set("event_cb", &f->refusals_, err) != RdKafka::Conf::CONF_OK) {
    return Status::InvalidInput("event_cb: " + err);
  }
  f->consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!f->consumer_) return Status::InvalidInput("cannot create the reference consumer: " + err);
  Status assigned = f->Assign();
  // Refused (credentials, TLS, ACL): the projector pauses and says so; assigning is
  // tried again while it polls.
  if (!assigned.ok() && f->refusals_.kind() == RefusalKind::kNone) return assigned;
  return f;
}

Status ReferenceFollower::Assign() {
  last_try_ = std::chrono::steady_clock::now();
  std::string err;
  RdKafka::Metadata* raw = nullptr;
  std::unique_ptr<RdKafka::Topic> topic(
      RdKafka::Topic::create(consumer_.get(), std::string(kReferenceTopic), nullptr, err));
  // Asked a second at a time, the client's queue served in between: a refusal
  // (credentials, TLS) reaches event_cb only then, and ends the wait at once.
  RdKafka::ErrorCode rc = RdKafka::ERR__TIMED_OUT;
  const auto deadline = last_try_ + std::chrono::seconds(10);
  while (true) {
    rc = consumer_->metadata(false, topic.get(), &raw, 1000);
    if (rc != RdKafka::ERR__TIMED_OUT && rc != RdKafka::ERR__TRANSPORT) break;
    std::unique_ptr<RdKafka::Message> served(consumer_->consume(0));
    if (refusals_.kind() != RefusalKind::kNone || std::chrono::steady_clock::now() >= deadline) break;
  }
  std::unique_ptr<RdKafka::Metadata> md(raw);
  if (rc != RdKafka::ERR_NO_ERROR || md->topics()->empty() ||
      md->topics()->front()->err() != RdKafka::ERR_NO_ERROR) {
    const RdKafka::ErrorCode why = rc != RdKafka::ERR_NO_ERROR ? rc
                                   : md->topics()->empty()   ? RdKafka::ERR_UNKNOWN_TOPIC_OR_PART
                                                             : md->topics()->front()->err();
    refusals_.Note(RefusalOf(why, RdKafka::err2str(why)), RdKafka::err2str(why) + " (" + std::string(kReferenceTopic) + ")");
    // The client's errors (an authentication that failed, say) reach event_cb only when
    // its queue is served.
    std::unique_ptr<RdKafka::Message> served(consumer_->consume(100));
    return Status::Unavailable("cannot read the metadata of " + std::string(kReferenceTopic) +
                               " from " + kafka_.brokers + ": " + RdKafka::err2str(why) +
                               " (is the broker up? ops/kafka.sh topics creates the topics)");
  }
  std::vector<RdKafka::TopicPartition*> parts;
  for (const auto* p : *md->topics()->front()->partitions()) {
    auto next = store_->Get(keys::kReferencePartition, keys::ReferenceNextOffset(p->id()));
    if (!next.ok()) {
      RdKafka::TopicPartition::destroy(parts);
      return next.status();
    }
    const int64_t from = next->has_value() ? keys::DecodeOffset(**next) : 0;
    int64_t low = 0, high = -1;
    consumer_->query_watermark_offsets(std::string(kReferenceTopic), p->id(), &low, &high, 5000);
    next_[p->id()] = from;
    target_[p->id()] = high;
    if (stop_at_) {
      auto limit = stop_at_->find(p->id());
      target_[p->id()] = limit == stop_at_->end() ? 0 : limit->second;
      limited_ = true;
    }
    parts.push_back(RdKafka::TopicPartition::create(
        std::string(kReferenceTopic), p->id(), next->has_value() ? from : RdKafka::Topic::OFFSET_BEGINNING));
  }
  rc = consumer_->assign(parts);
  RdKafka::TopicPartition::destroy(parts);
  if (rc != RdKafka::ERR_NO_ERROR) {
    return Status::Unavailable("cannot assign " + std::string(kReferenceTopic) + ": " + RdKafka::err2str(rc));
  }
  assigned_ = true;
  refusals_.Clear();
  return Status::Ok();
}

Result<size_t> ReferenceFollower::Poll(StagedBatch* batch, size_t max) {
  if (!assigned_) {
    if (std::chrono::steady_clock::now() - last_try_ < std::chrono::seconds(3)) return size_t{0};
    if (Status s = Assign(); !s.ok()) {
      if (refusals_.kind() != RefusalKind::kNone) return size_t{0};  // still refused: the projector says so
      return s;
    }
  }
  size_t n = 0;
  while (n < max) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(0));
    if (m->err() == RdKafka::ERR__TIMED_OUT) break;
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      if (m->err() == RdKafka::ERR__FATAL) return Status::Fatal("reference consumer: " + m->errstr());
      break;  // transient; librdkafka retries
    }
    auto it = next_.find(m->partition());
    if (it == next_.end() || m->offset() < it->second) continue;
    if (limited_ && m->offset() >= target_.at(m->partition())) continue;
    auto verified = VerifyEnvelope(m->payload(), m->len());
    if (verified.ok() && !IsReferenceEvent((*verified)->event_type())) {
      verified = Status::InvalidInput(EventTypeName((*verified)->event_type()) +
                                      " is not reference data");
    }
    if (!verified.ok()) {
      if (Status s = dead_letter_(*m, verified.status().message()); !s.ok()) return s;
    } else {
      // Keyed by content, not by the Kafka key, so a mis-keyed record cannot shadow another.
      // With its record time and place: answers "as known at" and explain read them.
      batch->Put(keys::kReferencePartition, ReferenceKey(**verified),
                 EncodeReferenceValue(m->timestamp().timestamp, m->partition(), m->offset(),
                                      std::string_view(static_cast<const char*>(m->payload()), m->len())));
    }
    it->second = m->offset() + 1;
    batch->Put(keys::kReferencePartition, keys::ReferenceNextOffset(m->partition()),
               keys::EncodeOffset(it->second));
    ++n;
  }
  if (n > 0 && refusals_.kind() != RefusalKind::kNone) refusals_.Clear();  // got through since
  return n;
}

bool ReferenceFollower::CaughtUp() const {
  if (!assigned_) return false;
  for (const auto& [p, high] : target_) {
    if (high < 0 || next_.at(p) < high) return false;
  }
  return true;
}

}  // namespace ledger
