#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <optional>
#include <ostream>

#include "http_actions.h"
#include "ledger/base/text.h"
#include "ledger/cluster/announcements.h"
#include "ledger/cluster/peer_client.h"
#include "ledger/cluster/projector_group.h"
#include "ledger/http/query_server.h"
#include "ledger/producers/audit_log.h"
#include "ledger/ops/commands.h"
#include "ledger/projector/projector.h"
#include "ledger/projector/runtime_metrics.h"
#include "ledger/queries/ledger_view.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/idle_compactor.h"
#include "ledger/storage/store_layout.h"

namespace ledger {
namespace {

// One store, one group member: the host name and the store's absolute path identify the
// instance across restarts.
std::string DefaultInstanceId(const std::string& data_dir) {
  const std::string host = LocalHostName();
  std::error_code ec;
  // The path as given (absolute), not where its link points: a rebuild moves the link,
  // and the restarted projector must be the same group member.
  const std::string path = std::filesystem::absolute(data_dir, ec).lexically_normal().string();
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : path) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(h & 0xffffffffffffULL));
  return std::string("ledger-") + host + "-" + buf;
}

// The nice value of the projecting thread beside the HTTP API.
constexpr int kIngestNice = 10;

}  // namespace

int RunProject(const CommonOptions& common, const ProjectOptions& options,
               const std::atomic<bool>& stop, std::ostream& out, std::ostream& err) {
  if (!options.peer_ca_file.empty()) {
    if (Status s = PeerClient::CheckTrusted(options.peer_ca_file, "--peer-ca"); !s.ok()) {
      err << "ledger project: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  StoreOptions store_options;
  store_options.durability = options.durability;
  if (!options.http_listen.empty()) {
    store_options.background_priority = StoreOptions::BackgroundPriority::kBelowQueries;
  }
  if (Status s = EnsureStoreLayout(common.data_dir); !s.ok()) {
    err << "ledger project: " << s.message() << "\n";
    return kExitUnavailable;
  }
  auto store = ProjectionStore::Open(common.data_dir, ProjectionStore::Mode::kReadWrite, store_options);
  if (!store.ok()) {
    err << "ledger project: " << store.status().message() << "\n";
    return kExitUnavailable;
  }
  std::unique_ptr<IdleCompactor> compactor;  // stopped before the store closes
  if (options.compact_when_idle_seconds > 0) {
    compactor = std::make_unique<IdleCompactor>(store->get(), std::chrono::seconds(options.compact_when_idle_seconds));
  }
  auto registry = std::make_shared<prometheus::Registry>();
  ProjectorMetrics metrics(*registry);
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<prometheus::Collectable> runtime;  // store and process figures
  if (!options.metrics_listen.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(options.metrics_listen);
    } catch (const std::exception& e) {
      err << "ledger project: cannot serve /metrics on " << options.metrics_listen << ": "
          << e.what() << " (use --metrics-listen to pick another address)\n";
      return kExitUsage;
    }
    exposer->RegisterCollectable(registry);
    runtime = MakeRuntimeCollector(store->get());
    exposer->RegisterCollectable(runtime);
  }
  GroupOptions go;
  ProjectorOptions& po = go.projector;
  po.kafka = common.kafka;
  po.group_id = options.group_id;
  po.instance_id = options.instance_id.empty() ? DefaultInstanceId(common.data_dir) : options.instance_id;
  po.max_batch = options.max_batch;
  po.stop_when_caught_up = options.until_caught_up;
  po.data_dir_link = common.data_dir;
  po.min_free_disk_bytes = options.min_free_disk_mib << 20;
  po.refold_beside_bytes = options.refold_beside_kib << 10;
  if (compactor) po.on_caught_up = [c = compactor.get()] { c->WriterCaughtUp(); };
  const bool serving = !options.http_listen.empty();
  go.standbys = serving && !options.until_caught_up ? options.standbys : 0;
  go.advertise = options.http_advertise;
  go.peers.trusted_ca_file = !options.peer_ca_file.empty() ? options.peer_ca_file : options.tls_cert_file;
  go.secret_file = options.group_secret_file;
  auto group = ProjectorGroup::Create(go, store->get(), &metrics, *registry);
  if (!group.ok()) {
    err << "ledger project: " << group.status().message() << "\n";
    return kExitUsage;
  }
  // Admin requests on ledger.audit; without it (Kafka refuses the topic, say) they are
  // only logged.
  std::unique_ptr<AuditLog> audit;
  if (serving) {
    auto created = AuditLog::Create(common.kafka);
    if (created.ok()) audit = std::move(*created);
  }
  // The HTTP API reads the store this process writes.
  std::unique_ptr<LedgerView> view;
  std::unique_ptr<QueryServer> server;  // stopped before the group
  if (serving) {
    auto v = LedgerView::Create(store->get());
    if (!v.ok()) {
      err << "ledger project: " << v.status().message() << "\n";
      return kExitUnavailable;
    }
    view = std::move(*v);
    ListBounds bounds;
    bounds.most_entries = options.list_max_entries;
    view->set_list_bounds(bounds);
    QueryServerOptions so;
    so.listen = options.http_listen;
    so.tokens_file = TokensFileFor(common, options.tokens_file);
    so.tls_cert_file = options.tls_cert_file;
    so.tls_key_file = options.tls_key_file;
    ServerActions actions = MakeServerActions(
        common, store->get(), options.checkpoint_dir.empty() ? common.data_dir + ".checkpoints" : options.checkpoint_dir,
        options.ingest_kafka_config, registry.get(), &metrics);
    actions.instance = po.instance_id;
    actions.status = [base = actions.status, g = group->get()] {
      Json status = base ? base() : Json::object();
      status["group"] = g->Describe();
      return status;
    };
    actions.group = &(*group)->router();
    if (audit) {
      actions.audit = [log = audit.get()](const std::string& who, const std::string& role, const std::string& action,
                                          const std::string& target, int status) {
        log->Record({0, who, role, action, target, status < 400 ? "ok" : "HTTP " + std::to_string(status), "http", ""});
      };
    }
    auto started = QueryServer::Start(so, view.get(), std::move(actions), registry.get());
    if (started.ok()) {
      server = std::move(*started);
    } else if (started.status().code() == Status::Code::kUnavailable) {
      // Projecting matters more than serving: go on without the API, and say so.
      err << "ledger project: HTTP API not started: " << started.status().message() << "\n";
    } else {
      err << "ledger project: " << started.status().message() << "\n";
      return kExitUsage;
    }
  }
  if (server) {
    if (Status s = (*group)->Announce(server->url()); !s.ok()) {
      err << "ledger project: not announcing this instance to a group: " << s.message()
          << "\n";
    }
  }
  out << "ledger project: projecting " << kEventsTopic << " from " << common.kafka.brokers
      << " into " << common.data_dir;
  if (exposer) out << "; metrics on http://" << options.metrics_listen << "/metrics";
  if (server) out << "; HTTP API on " << server->url() << " (tokens in " << TokensFileFor(common, options.tokens_file) << ")";
  out << std::endl;
  if (server) {
    // Answers before ingest: when the CPU is short, this thread (which applies events) and
    // the commit threads it starts yield to the API's workers. Ingest catches up when
    // queries pause; the lag metrics say if it falls behind.
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kIngestNice) != 0) {
      err << "ledger project: could not lower the projecting thread's priority (it keeps its own)\n";
    }
  }
  Status s = (*group)->Run(stop, err);
  const ProjectorTotals& t = (*group)->totals();
  out << "ledger project: consumed " << t.consumed << " (applied " << t.applied << ", duplicates "
      << t.duplicates << ", anomalies " << t.anomalies << ", late " << t.late << ", dead-lettered "
      << t.dead_lettered
      << "); reference records " << t.reference << std::endl;
  if (!s.ok()) {
    err << "ledger project: stopped: " << s.message() << "\n";
    return kExitUnavailable;
  }
  if (t.store_switched) {
    out << "ledger project: " << common.data_dir << " now names another store; start again to "
        << "project into it" << std::endl;
    return kExitStoreSwitched;
  }
  return kExitOk;
}

}  // namespace ledger
