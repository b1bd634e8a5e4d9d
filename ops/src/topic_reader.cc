#include "topic_reader.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <memory>

#include "ledger/kafka/kafka_config.h"
#include "read_failure.h"

namespace ledger {

Result<std::vector<TopicRecord>> ReadTopicToEnd(const CommonOptions& common, const std::string& topic,
                                                const std::string& group, int64_t from) {
  auto conf = MakeKafkaConf(common.kafka,
                            {{"group.id", group}, {"enable.auto.commit", "false"}, {"enable.partition.eof", "true"}});
  if (!conf.ok()) return conf.status();
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!c) return Status::InvalidInput("cannot create a Kafka consumer: " + err);
  {
    // The topic's metadata first: a topic the user may not describe reads as "unknown
    // partition" to the offsets request.
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(c.get(), topic, nullptr, err));
    RdKafka::Metadata* raw = nullptr;
    RdKafka::ErrorCode rc = c->metadata(false, t.get(), &raw, 10000);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    if (rc == RdKafka::ERR_NO_ERROR && md && !md->topics()->empty()) rc = md->topics()->front()->err();
    if (rc == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) {
      return Status::NotFound(topic + " does not exist on " + common.kafka.brokers +
                              " (ops/kafka.sh topics creates it)");
    }
    if (rc != RdKafka::ERR_NO_ERROR) return ReadFailure(common, topic, rc, RdKafka::err2str(rc));
  }
  int64_t low = 0, high = 0;
  RdKafka::ErrorCode rc = c->query_watermark_offsets(topic, 0, &low, &high, 10000);
  if (rc != RdKafka::ERR_NO_ERROR) return ReadFailure(common, topic, rc, RdKafka::err2str(rc));
  std::vector<TopicRecord> out;
  const int64_t start = std::max(from, low);
  if (start >= high) return out;
  std::vector<RdKafka::TopicPartition*> tps = {RdKafka::TopicPartition::create(topic, 0, start)};
  rc = c->assign(tps);
  RdKafka::TopicPartition::destroy(tps);
  if (rc != RdKafka::ERR_NO_ERROR) return ReadFailure(common, topic, rc, RdKafka::err2str(rc));
  for (int64_t next = start; next < high;) {
    std::unique_ptr<RdKafka::Message> m(c->consume(10000));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) break;
    if (m->err() != RdKafka::ERR_NO_ERROR) return ReadFailure(common, topic, m->err(), m->errstr());
    next = m->offset() + 1;
    TopicRecord r;
    r.offset = m->offset();
    if (m->key_pointer() != nullptr) r.key.assign(static_cast<const char*>(m->key_pointer()), m->key_len());
    if (m->payload() != nullptr) r.value.assign(static_cast<const char*>(m->payload()), m->len());
    if (m->headers() != nullptr) {
      for (const auto& h : m->headers()->get_all()) {
        r.headers[h.key()] = std::string(static_cast<const char*>(h.value()), h.value_size());
      }
    }
    out.push_back(std::move(r));
  }
  c->close();
  return out;
}

}  // namespace ledger
