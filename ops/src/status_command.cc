#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include "ledger/cluster/peer_client.h"
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

// Messages on the dead-letter topic (-1: not known, e.g. the topic is not readable).
int64_t DeadLetterCount(RdKafka::Producer& handle) {
  int64_t low = 0, high = -1;
  if (handle.query_watermark_offsets(std::string(kDeadLetterTopic), 0, &low, &high, 5000) != RdKafka::ERR_NO_ERROR) {
    return -1;
  }
  return high - low;
}

std::string TrimmedFile(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

// The running projector's health from its GET /v1/status: {"api", "reachable", and
// "paused", "paused_why", "errors", "events_per_second", "projected"} or "error".
nlohmann::ordered_json ProjectorHealth(const StatusOptions& options) {
  nlohmann::ordered_json j = {{"api", options.api}, {"reachable", false}};
  std::string token = options.token_file.empty() ? "" : TrimmedFile(options.token_file);
  if (token.empty()) {
    const char* env = std::getenv("LEDGER_TOKEN");
    token = env != nullptr ? env : "";
  }
  if (token.empty()) {
    j["error"] = "no token: give --token-file FILE or LEDGER_TOKEN (an analyst token) to see its health";
    return j;
  }
  PeerClientOptions po;
  po.trusted_ca_file = options.api_ca_file;
  po.read_timeout = std::chrono::seconds(5);
  PeerClient client(po);
  auto answer = client.Get(options.api, {"/v1/status", {}, {{"Authorization", "Bearer " + token}}});
  if (!answer.ok()) {
    j["error"] = "not reachable (is a projector serving its HTTP API there? --api names it)";
    return j;
  }
  const auto body = nlohmann::json::parse(answer->body, nullptr, false);
  if (answer->status != 200 || body.is_discarded() || !body.is_object()) {
    j["error"] = "GET /v1/status answered " + std::to_string(answer->status) +
                 (body.is_object() && body.contains("error") ? ": " + body["error"].get<std::string>() : "");
    return j;
  }
  j["reachable"] = true;
  j["paused"] = body.value("paused", "");
  j["paused_why"] = body.value("paused_why", "");
  j["errors"] = body.value("errors", nlohmann::json::object());
  j["events_per_second"] = body.value("events_per_second", 0.0);
  j["projected"] = body.value("projected", 0);
  return j;
}

// "projector at URL: running; 12.5 events/s over the last minute; errors: none", or
// PAUSED and why, or why it could not be asked.
void PrintHealth(const nlohmann::ordered_json& health, const std::string& api, std::ostream& out) {
  out << "projector at " << api << ": ";
  if (!health["reachable"].get<bool>()) {
    out << health["error"].get<std::string>() << "\n";
    return;
  }
  const std::string paused = health["paused"].get<std::string>();
  if (paused.empty()) {
    out << "running";
  } else {
    out << "PAUSED (" << paused << "): " << health["paused_why"].get<std::string>();
  }
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f", health["events_per_second"].get<double>());
  out << "; " << rate << " events/s over the last minute";
  std::string errors;
  for (const auto& [kind, n] : health["errors"].items()) {
    if (n.get<int64_t>() > 0) errors += (errors.empty() ? "" : ", ") + kind + " " + std::to_string(n.get<int64_t>());
  }
  out << "; errors: " << (errors.empty() ? "none" : errors) << "\n";
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
      // The broker cannot be read: what the projector says of itself may still help.
      err << "ledger status: " << parts.status().message() << "\n";
      if (!options.api.empty()) {
        const nlohmann::ordered_json health = ProjectorHealth(options);
        if (options.json) {
          out << nlohmann::ordered_json({{"error", parts.status().message()}, {"projector", health}}).dump() << "\n";
        } else {
          PrintHealth(health, options.api, out);
        }
      }
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
    const int64_t dead_letters = DeadLetterCount(*handle);
    const nlohmann::ordered_json health =
        options.api.empty() ? nlohmann::ordered_json() : ProjectorHealth(options);
    if (options.json) {
      nlohmann::ordered_json j = {{"partitions", nlohmann::ordered_json::array()}};
      for (const auto& p : *parts) {
        j["partitions"].push_back({{"partition", p.partition}, {"log_start", p.low}, {"log_end", p.high},
                                   {"projected", p.projected}, {"lag", std::max<int64_t>(0, p.high - p.projected)}});
      }
      j["projected"] = projected;
      j["lag"] = lag;
      j["dead_letters"] = dead_letters >= 0 ? nlohmann::ordered_json(dead_letters) : nlohmann::ordered_json();
      if (!health.is_null()) j["projector"] = health;
      out << j.dump() << "\n";
    } else {
      out << "partition  log-start  log-end  projected  lag\n";
      for (const auto& p : *parts) {
        out << p.partition << "\t   " << p.low << "\t      " << p.high << "\t    " << p.projected << "\t     "
            << std::max<int64_t>(0, p.high - p.projected) << "\n";
      }
      out << "total: " << projected << " projected, lag " << lag << " events\n";
      if (dead_letters > 0) {
        out << "dead letters: " << dead_letters << " on " << kDeadLetterTopic
            << " (ledger dlq list says why; ledger dlq replay after a fix)\n";
      }
      if (!health.is_null()) PrintHealth(health, options.api, out);
    }
    if (options.wait_seconds > 0 && lag > 0) {
      err << "ledger status: still " << lag << " events behind after " << options.wait_seconds << " s\n";
      return kExitUnavailable;
    }
    return kExitOk;
  }
}

}  // namespace ledger
