#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <ostream>

#include "http_actions.h"
#include "ledger/cluster/group_plan.h"
#include "ledger/cluster/group_view.h"
#include "ledger/cluster/instance_directory.h"
#include "ledger/http/query_server.h"
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
std::string HostName() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return host;
}

std::string DefaultInstanceId(const std::string& data_dir) {
  const std::string host = HostName();
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

// The partitions this instance owns now (the projector's assignment), for routing
// questions and for its announcement.
class Ownership {
 public:
  void Set(std::vector<int> owned, int partition_count) {
    std::lock_guard lock(mu_);
    owned_ = std::move(owned);
    partition_count_ = partition_count;
  }
  std::pair<std::vector<int>, int> Get() const {
    std::lock_guard lock(mu_);
    return {owned_, partition_count_};
  }
  // With what the owner side is restoring and the standby follows now (either may be
  // null). What is held is read before what is restoring: a projector publishes a
  // partition it takes up as restoring first, so a partition is never seen held and
  // caught up before it is.
  LocalPartitions Local(const Projector* owner, const Projector* standby) const {
    LocalPartitions local;
    std::tie(local.owned, local.partition_count) = Get();
    if (owner != nullptr) local.restoring = owner->Restoring();
    if (standby != nullptr) {
      for (const auto& [p, o] : standby->Following()) local.following.push_back(p);
      local.following_restoring = standby->Restoring();
      local.behind = standby->Behind();
    }
    return local;
  }

 private:
  mutable std::mutex mu_;
  std::vector<int> owned_;
  int partition_count_ = 0;
};

// The nice value of the projecting thread beside the HTTP API.
constexpr int kIngestNice = 10;

}  // namespace

int RunProject(const CommonOptions& common, const ProjectOptions& options,
               const std::atomic<bool>& stop, std::ostream& out, std::ostream& err) {
  if (Status s = AnnouncedUrl("", options.http_advertise, "").status(); !s.ok()) {
    err << "ledger project: " << s.message() << "\n";
    return kExitUsage;
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
  GroupView group(*registry);
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
  ProjectorOptions po;
  po.kafka = common.kafka;
  po.group_id = options.group_id;
  po.instance_id = options.instance_id.empty() ? DefaultInstanceId(common.data_dir) : options.instance_id;
  po.max_batch = options.max_batch;
  po.stop_when_caught_up = options.until_caught_up;
  po.data_dir_link = common.data_dir;
  po.min_free_disk_bytes = options.min_free_disk_mib << 20;
  po.refold_beside_bytes = options.refold_beside_kib << 10;
  if (compactor) po.on_caught_up = [c = compactor.get()] { c->WriterCaughtUp(); };
  Ownership ownership;
  po.on_assignment = [&ownership](const std::vector<int>& owned, int count) { ownership.Set(owned, count); };
  // Warm standbys: a second projector in this process, into the same store, following
  // partitions other instances own; it lets go of a partition before the owner side
  // takes it over, so that each partition has one writer.
  std::unique_ptr<Projector> standby;
  if (options.standbys > 0 && !options.http_listen.empty() && !options.until_caught_up) {
    ProjectorOptions so = po;
    so.standby = true;
    so.on_caught_up = nullptr;
    so.on_assignment = nullptr;
    so.data_dir_link.clear();
    auto created = Projector::Create(so, store->get(), nullptr);
    if (!created.ok()) {
      err << "ledger project: the standby: " << created.status().message() << "\n";
      return kExitUsage;
    }
    standby = std::move(*created);
    po.before_assign = [s = standby.get()](const std::vector<int>& partitions) {
      return s->Release(partitions, std::chrono::seconds(30));
    };
    po.on_assignment = [&ownership, s = standby.get()](const std::vector<int>& owned, int count) {
      ownership.Set(owned, count);
      s->Exclude(owned);
    };
  }
  auto projector = Projector::Create(po, store->get(), &metrics);
  if (!projector.ok()) {
    err << "ledger project: " << projector.status().message() << "\n";
    return kExitUsage;
  }
  // The instances of the group, for routing questions; started with the API, stopped
  // after it.
  std::unique_ptr<InstanceDirectory> directory;
  std::atomic<const InstanceDirectory*> announced{nullptr};  // the directory, once running
  // The HTTP API reads the store this process writes.
  std::unique_ptr<LedgerView> view;
  std::unique_ptr<QueryServer> server;
  if (!options.http_listen.empty()) {
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
    so.peer_ca_file = options.peer_ca_file;
    ServerActions actions = MakeServerActions(common, store->get(), options.checkpoint_dir.empty() ? common.data_dir + ".checkpoints" : options.checkpoint_dir, registry.get(), &metrics);
    actions.instance = po.instance_id;
    actions.status = [base = actions.status, &group] {
      Json status = base ? base() : Json::object();
      status["group"] = group.Status();
      return status;
    };
    actions.partition_count = [&ownership] { return ownership.Get().second; };
    // Set once the directory runs (below): until then every question is answered here.
    actions.route = [&announced, &ownership, &standby, owner = projector->get()](
                        const std::string& account, const ReadBound& bound) -> Result<Answerer> {
      const InstanceDirectory* d = announced.load();
      if (d == nullptr) return Answerer{};
      return RouteAccount(ownership.Local(owner, standby.get()), d->Others(), account, bound);
    };
    actions.list_plan = [&announced, &ownership, &standby, owner = projector->get()](const ReadBound& bound)
        -> Result<std::map<std::string, std::vector<int>>> {
      const InstanceDirectory* d = announced.load();
      if (d == nullptr) return std::map<std::string, std::vector<int>>();
      return PlanList(ownership.Local(owner, standby.get()), d->Others(), bound);
    };
    actions.answers_here = [&announced, &ownership, &standby, owner = projector->get()](
                               const std::vector<int>& partitions, const ReadBound& bound) {
      if (announced.load() == nullptr) return Status::Ok();
      return AnswersHere(ownership.Local(owner, standby.get()), partitions, bound);
    };
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
    auto advertised = AnnouncedUrl(server->url(), options.http_advertise, HostName());
    if (!advertised.ok()) {
      err << "ledger project: " << advertised.status().message() << "\n";
      return kExitUsage;
    }
    const std::string url = *advertised;
    auto started = InstanceDirectory::Start(common.kafka, [&ownership, &store, &standby, &group, &announced, url,
                                                           id = po.instance_id, owner = projector->get()] {
      InstanceAnnouncement a;
      a.instance = id;
      a.url = url;
      const LocalPartitions local = ownership.Local(owner, standby.get());
      a.partition_count = local.partition_count;
      for (int p : local.owned) (Holds(local.restoring, p) ? a.restoring : a.owned).push_back(p);
      for (int p : local.following) {  // announced once caught up: the others may forward to it
        if (Holds(local.following_restoring, p)) continue;
        a.standby.push_back(p);
        if (auto it = local.behind.find(p); it != local.behind.end() && it->second >= 0) a.behind[p] = it->second;
      }
      for (const auto* list : {&a.owned, &a.restoring, &a.standby}) {
        for (int p : *list) {
          auto next = (*store)->NextOffset(p);
          if (next.ok() && next->has_value() && **next > 0) a.positions[p] = **next - 1;
        }
      }
      const InstanceDirectory* d = announced.load();
      group.Update(a, d ? d->Others() : std::map<std::string, InstanceAnnouncement>());
      return a;
    });
    if (started.ok()) {
      directory = std::move(*started);
      announced = directory.get();
    } else {
      err << "ledger project: not announcing this instance (questions are answered here only): "
          << started.status().message() << "\n";
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
  // The standby runs beside the owner side, following what the instances' announcements
  // give it (recomputed every second), until the owner side stops.
  std::atomic<bool> standby_stop{false};
  std::thread standby_thread, planner;
  Status standby_status;
  if (standby && directory) {
    standby_thread = std::thread([&] { standby_status = standby->Run(standby_stop); });
    planner = std::thread([&] {
      while (!standby_stop.load()) {
        standby->Follow(StandbyPartitions(po.instance_id, ownership.Local(nullptr, standby.get()), directory->Others(),
                                          options.standbys));
        for (int i = 0; i < 10 && !standby_stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  } else if (standby) {
    err << "ledger project: --standbys needs the instances' announcements (see above): no standby\n";
  }
  Status s = (*projector)->Run(stop);
  standby_stop = true;
  if (planner.joinable()) planner.join();
  if (standby_thread.joinable()) standby_thread.join();
  if (!standby_status.ok()) err << "ledger project: the standby stopped: " << standby_status.message() << "\n";
  const ProjectorTotals& t = (*projector)->totals();
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
