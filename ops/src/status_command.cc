#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <ostream>
#include <thread>

#include "ledger/ops/commands.h"
#include "ledger/schema/event_codec.h"

namespace ledger {
namespace {

struct PartitionStatus {
  int partition;
  int64_t high;       // the broker's high watermark
  int64_t low;        // where the log starts (above 0 once records were deleted)
  int64_t projected;  // next offset in the store (0 if none)
};

Result<std::vector<PartitionStatus>> Collect(const CommonOptions& common, RdKafka::Producer& handle) {
  RdKafka::Metadata* raw = nullptr;
  std::string topic_err;
  std::unique_ptr<RdKafka::Topic> topic(
      RdKafka::Topic::create(&handle, std::string(kEventsTopic), nullptr, topic_err));
  if (!topic) return Status::InvalidInput(topic_err);
  RdKafka::ErrorCode rc = handle.metadata(false, topic.get(), &raw, 10000);
  std::unique_ptr<RdKafka::Metadata> md(raw);
  if (rc != RdKafka::ERR_NO_ERROR || md->topics()->empty()) {
    return Status::Unavailable("cannot read the metadata of " + std::string(kEventsTopic) + " from " +
                               common.kafka.brokers + ": " + RdKafka::err2str(rc));
  }
  const auto* t = md->topics()->front();
  if (t->err() != RdKafka::ERR_NO_ERROR) {
    return Status::Unavailable(std::string(kEventsTopic) + ": " + RdKafka::err2str(t->err()));
  }
  auto store = ProjectionStore::Open(common.data_dir, ProjectionStore::Mode::kReadOnly);
  std::vector<PartitionStatus> out;
  for (const auto* p : *t->partitions()) {
    PartitionStatus s{p->id(), -1, 0, 0};
    rc = handle.query_watermark_offsets(std::string(kEventsTopic), p->id(), &s.low, &s.high, 10000);
    if (rc != RdKafka::ERR_NO_ERROR) {
      return Status::Unavailable("watermarks of partition " + std::to_string(p->id()) + ": " +
                                 RdKafka::err2str(rc));
    }
    if (store.ok()) {
      auto next = (*store)->NextOffset(p->id());
      if (next.ok() && next->has_value()) s.projected = **next;
    }
    out.push_back(s);
  }
  std::sort(out.begin(), out.end(),
            [](const PartitionStatus& a, const PartitionStatus& b) { return a.partition < b.partition; });
  return out;
}

}  // namespace

int RunStatus(const CommonOptions& common, const StatusOptions& options, std::ostream& out,
              std::ostream& err) {
  auto conf = MakeKafkaConf(common.kafka, {});
  if (!conf.ok()) {
    err << "ledger status: " << conf.status().message() << "\n";
    return kExitUsage;
  }
  std::string e;
  std::unique_ptr<RdKafka::Producer> handle(RdKafka::Producer::create(conf->get(), e));
  if (!handle) {
    err << "ledger status: " << e << "\n";
    return kExitUsage;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.wait_seconds);
  for (;;) {
    auto parts = Collect(common, *handle);
    if (!parts.ok()) {
      err << "ledger status: " << parts.status().message() << "\n";
      return kExitUnavailable;
    }
    int64_t lag = 0, projected = 0;
    for (const auto& p : *parts) {
      lag += std::max<int64_t>(0, p.high - p.projected);
      projected += p.projected;
    }
    if (options.wait_seconds > 0 && lag > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    out << "partition  log-start  log-end  projected  lag\n";
    for (const auto& p : *parts) {
      out << p.partition << "\t   " << p.low << "\t      " << p.high << "\t    " << p.projected << "\t     "
          << std::max<int64_t>(0, p.high - p.projected) << "\n";
    }
    out << "total: " << projected << " projected, lag " << lag << " events\n";
    if (options.wait_seconds > 0 && lag > 0) {
      err << "ledger status: still " << lag << " events behind after " << options.wait_seconds << " s\n";
      return kExitUnavailable;
    }
    return kExitOk;
  }
}

}  // namespace ledger
