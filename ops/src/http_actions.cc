// What `ledger project` does for the HTTP API's ingest and admin requests: the same
// work as `ledger publish`, `ledger checkpoint`, `ledger dlq replay` and `ledger rebuild`.
#include "http_actions.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <filesystem>
#include <mutex>
#include <regex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/base/json_input.h"
#include "ledger/base/text.h"
#include "ledger/producers/publisher.h"
#include "ledger/schema/event_codec.h"

namespace ledger {
namespace {

// HTTP ingest: one codec and one idempotent producer, one request at a time.
class Ingest {
 public:
  Ingest(KafkaSettings kafka, prometheus::Registry* registry) : kafka_(std::move(kafka)) {
    if (registry == nullptr) return;
    auto& family = prometheus::BuildCounter()
                       .Name("ledger_publisher_deliveries_total")
                       .Help("Events sent through HTTP ingest, by result: delivered (acknowledged by the broker), "
                             "failed (not acknowledged), rejected (invalid, never sent)")
                       .Register(*registry);
    delivered_ = &family.Add({{"result", "delivered"}});
    failed_ = &family.Add({{"result", "failed"}});
    rejected_ = &family.Add({{"result", "rejected"}});
  }

  Result<Json> operator()(const std::string& body) {
    std::lock_guard lock(mu_);
    if (!codec_) {
      auto codec = EventCodec::Create();
      if (!codec.ok()) return codec.status();
      codec_ = std::move(*codec);
    }
    if (!publisher_) {
      auto pub = Publisher::Create(kafka_);
      if (!pub.ok()) return Status::Unavailable(pub.status().message());
      publisher_ = std::move(*pub);
    }
    Json results = Json::array();
    std::map<uint64_t, size_t> sent;  // line -> its result
    std::istringstream in(body);
    std::string line;
    uint64_t n = 0;
    int rejected = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Json r = {{"line", n}};
      auto parsed = ParseJsonInput(line);
      if (parsed.ok() && parsed->is_object() && !parsed->contains("event_id")) {
        r["status"] = "rejected";
        r["error"] = "event_id is required over HTTP, so that a retry is applied once";
      } else if (auto e = codec_->FromJson(line, NowMillis()); !e.ok()) {
        r["status"] = "rejected";
        r["error"] = e.status().message();
      } else if (Status s = publisher_->Send(*e, n); !s.ok()) {
        r["status"] = "rejected";
        r["error"] = s.message();
      } else {
        r["status"] = "published";
        r["event_id"] = parsed->value("event_id", "");
        r["type"] = e->type;
        sent[n] = results.size();
      }
      if (r["status"] == "rejected") ++rejected;
      results.push_back(std::move(r));
    }
    if (n == 0) return Status::InvalidInput("the body has no events (JSON lines, see schema/README.md)");
    DeliveryReport report = publisher_->Flush(std::chrono::seconds(30));
    if (!report.refused.empty()) {
      // Kafka refuses this process's publishing principal (--ingest-kafka-config): the
      // client's error, not the caller's; a new producer is made for the next request.
      publisher_.reset();
      if (failed_ != nullptr) failed_->Increment(static_cast<double>(sent.size()));
      return Status::Refused("ingest: " + report.refused);
    }
    int undelivered = 0;
    for (const auto& [ticket, reason] : report.failed) {
      Json& r = results[sent.at(ticket)];
      r["status"] = "not delivered";
      r["error"] = reason;
      ++undelivered;
    }
    if (delivered_ != nullptr) {
      delivered_->Increment(static_cast<double>(report.delivered));
      failed_->Increment(undelivered);
      rejected_->Increment(rejected);
    }
    // Where the events landed: a question given min_position waits until they are projected.
    Json positions = Json::object();
    for (const auto& [partition, offset] : report.positions) positions[std::to_string(partition)] = offset;
    return Json{{"published", report.delivered}, {"rejected", rejected}, {"not_delivered", undelivered},
                {"positions", std::move(positions)}, {"min_position", FormatPositions(report.positions)},
                {"results", std::move(results)}};
  }

 private:
  KafkaSettings kafka_;
  std::mutex mu_;
  std::unique_ptr<EventCodec> codec_;
  std::unique_ptr<Publisher> publisher_;
  prometheus::Counter* delivered_ = nullptr;
  prometheus::Counter* failed_ = nullptr;
  prometheus::Counter* rejected_ = nullptr;
};

// A command's output as JSON: its exit code and what it printed.
Result<Json> CommandResult(int code, const std::ostringstream& out, const std::ostringstream& err) {
  Json j = {{"exit_code", code}, {"output", out.str()}};
  if (!err.str().empty()) j["errors"] = err.str();
  if (code == kExitUsage) return Status::InvalidInput(err.str());
  if (code == kExitUnavailable) return Status::Unavailable(err.str());
  if (code == kExitRefused) return Status::Refused(err.str());
  return j;
}

// The projector's progress from its metrics: what the status page shows (the HTTP
// server adds the case counts it samples).
Json StatusOf(const ProjectorMetrics& metrics) {
  const ProjectorProgress progress = metrics.Progress();
  uint64_t projected = 0, lag = 0;
  for (const auto& [outcome, n] : progress.outcomes) projected += n;
  Json parts = Json::array();
  for (const auto& p : progress.partitions) {
    parts.push_back({{"partition", p.partition}, {"next_offset", p.next_offset}, {"lag", p.lag}});
    lag += static_cast<uint64_t>(p.lag);
  }
  Json recent = Json::array();
  for (const auto& e : progress.recent) {
    recent.push_back({{"type", e.type}, {"account", e.account}, {"outcome", e.outcome}, {"partition", e.partition},
                      {"offset", e.offset}, {"recorded_at", FormatTime(e.recorded_at)}});
  }
  return Json{{"projected", projected}, {"lag", lag},          {"outcomes", progress.outcomes},
              {"errors", progress.errors}, {"partitions", parts}, {"recent", recent},
              {"paused", progress.paused}, {"paused_why", progress.paused_why},
              {"events_per_second", progress.events_per_second}};
}

}  // namespace

// An online checkpoint, by name, under `root` and nowhere else: the name is one path
// segment of letters, digits, '.', '_' and '-' (not starting with '.'), and neither the
// checkpoint nor RocksDB's staging folder beside it (NAME.tmp, whose files RocksDB
// deletes) may exist already.
Result<Json> CheckpointByName(ProjectionStore* store, const std::string& root, const std::string& name) {
  static const std::regex kName("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}");
  if (name.empty()) return Status::InvalidInput("checkpoint: the parameter \"name\" is required");
  if (!std::regex_match(name, kName)) {
    return Status::InvalidInput("checkpoint: name: \"" + Printable(name, 80) +
                                "\" is not 1-64 letters, digits, '.', '_' or '-' (not starting with '.')");
  }
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return Status::Unavailable("checkpoint: cannot create " + root + ": " + ec.message());
  const std::filesystem::path target = std::filesystem::path(root) / name;
  for (const auto& p : {target, std::filesystem::path(target.string() + ".tmp")}) {
    if (std::filesystem::symlink_status(p, ec).type() != std::filesystem::file_type::not_found) {
      return Status::InvalidInput("checkpoint: " + p.string() + " exists already: choose another name");
    }
  }
  // The live store, while it projects: RocksDB checkpoints are consistent online.
  Status s = store->Checkpoint(target.string());
  if (!s.ok()) return Status::InvalidInput("checkpoint: " + s.message());
  return Json{{"checkpoint", target.string()}};
}

ServerActions MakeServerActions(const CommonOptions& common, ProjectionStore* store,
                                const std::string& checkpoint_root, const std::string& ingest_kafka_config,
                                prometheus::Registry* registry, const ProjectorMetrics* metrics) {
  ServerActions actions;
  if (metrics != nullptr) {
    actions.status = [metrics] { return StatusOf(*metrics); };
  }
  KafkaSettings ingest_kafka = common.kafka;
  if (!ingest_kafka_config.empty()) ingest_kafka.properties_file = ingest_kafka_config;
  auto ingest = std::make_shared<Ingest>(ingest_kafka, registry);
  actions.ingest = [ingest](const std::string& body) { return (*ingest)(body); };
  actions.admin = [common, store, checkpoint_root](const std::string& action,
                                  const std::map<std::string, std::string>& params) -> Result<Json> {
    std::ostringstream out, err;
    auto param = [&](const std::string& k) {
      auto it = params.find(k);
      return it == params.end() ? std::string() : it->second;
    };
    if (action == "checkpoint") {
      if (params.count("dir")) {
        return Status::InvalidInput("checkpoint: dir is not taken: give a name; checkpoints go under " +
                                    checkpoint_root + " (--checkpoint-dir)");
      }
      return CheckpointByName(store, checkpoint_root, param("name"));
    }
    if (action == "dlq-replay") {
      DlqOptions options;
      try {
        options.from = param("from").empty() ? 0 : std::stoll(param("from"));
        options.to = param("to").empty() ? -1 : std::stoll(param("to"));
      } catch (const std::exception&) {
        return Status::InvalidInput("dlq-replay: from, to: \"" + param("from") + "\", \"" + param("to") +
                                    "\" are not offsets");
      }
      options.reason = param("reason");
      options.dry_run = param("dry_run") == "true";
      const int code = RunDlqReplay(common, options, out, err);
      return CommandResult(code, out, err);
    }
    if (action == "rebuild") {
      const int code = RunRebuild(common, out, err);
      return CommandResult(code, out, err);
    }
    return Status::NotFound("unknown admin action \"" + action + "\"");
  };
  return actions;
}

}  // namespace ledger
