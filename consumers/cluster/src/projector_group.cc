#include "ledger/cluster/projector_group.h"

#include <mutex>
#include <optional>
#include <thread>

#include "ledger/cluster/group_credential.h"
#include "ledger/cluster/group_view.h"
#include "ledger/cluster/instance_directory.h"

namespace ledger {
namespace {

// The partitions this instance owns now (the owner side's assignment), for routing
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
  LocalPartitions Local(const Projector* owner, const StandbyProjector* standby) const {
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

}  // namespace

class ProjectorGroup::Impl {
 public:
  Impl(const GroupOptions& options, ProjectionStore* store, prometheus::Registry& registry)
      : options_(options), store_(store), view_(registry) {}

  Status Init(ProjectorMetrics* metrics) {
    if (Status s = AnnouncedUrl("", options_.advertise, "").status(); !s.ok()) return s;
    if (!options_.secret_file.empty()) {
      auto loaded = GroupCredential::Load(options_.secret_file);
      if (!loaded.ok()) return loaded.status();
      credential_ = std::move(*loaded);
    }
    router_ = std::make_unique<GroupRouter>(
        options_.projector.instance_id, [this] { return Local(); }, [this] { return Others(); }, options_.peers,
        credential_ ? &*credential_ : nullptr);
    ProjectorOptions po = options_.projector;
    po.on_assignment = [this](const std::vector<int>& owned, int count) { ownership_.Set(owned, count); };
    // Warm standbys: a second projector in this process, into the same store, following
    // partitions other instances own; it lets go of a partition before the owner side
    // takes it over, so that each partition has one writer.
    if (options_.standbys > 0) {
      ProjectorOptions so = po;
      so.on_caught_up = nullptr;
      so.on_assignment = nullptr;
      so.data_dir_link.clear();
      auto created = StandbyProjector::Create(so, store_);
      if (!created.ok()) return Status::InvalidInput("the standby: " + created.status().message());
      standby_ = std::move(*created);
      po.before_assign = [s = standby_.get()](const std::vector<int>& partitions) {
        return s->Release(partitions, std::chrono::seconds(30));
      };
      po.on_assignment = [this](const std::vector<int>& owned, int count) {
        ownership_.Set(owned, count);
        standby_->Exclude(owned);
      };
    }
    auto owner = Projector::Create(po, store_, metrics);
    if (!owner.ok()) return owner.status();
    owner_ = std::move(*owner);
    return Status::Ok();
  }

  ~Impl() {
    announced_ = nullptr;
    directory_.reset();  // stops announcing (a tombstone) before the projectors go
  }

  // Without the announcements (no group secret), the instance has heard all it will.
  LocalPartitions Local() const {
    LocalPartitions local = ownership_.Local(owner_.get(), standby_.get());
    const InstanceDirectory* d = announced_.load();
    local.heard_group = d == nullptr ? true : d->Heard();
    return local;
  }

  Announcements Others() const {
    const InstanceDirectory* d = announced_.load();
    return d == nullptr ? Announcements() : d->Others();
  }

  Status Announce(const std::string& served_url) {
    if (!credential_) {
      return Status::Unavailable("no --group-secret: it answers for the partitions it owns only (a single instance "
                                 "owns them all)");
    }
    auto advertised = AnnouncedUrl(served_url, options_.advertise, LocalHostName());
    if (!advertised.ok()) return advertised.status();
    const std::string url = *advertised;
    InstanceDirectory::Options o;
    o.kafka = options_.projector.kafka;
    o.group = options_.projector.group_id;
    o.scheme = served_url.rfind("https://", 0) == 0 ? "https" : "http";
    o.credential = &*credential_;
    o.on_ignored = [this](const std::string& reason) { view_.CountIgnored(reason); };
    auto started = InstanceDirectory::Start(o, [this, url] { return Announcement(url); });
    if (!started.ok()) return started.status();
    directory_ = std::move(*started);
    announced_ = directory_.get();
    return Status::Ok();
  }

  // What this instance announces every second: called on the directory's thread.
  InstanceAnnouncement Announcement(const std::string& url) {
    InstanceAnnouncement a;
    a.group = options_.projector.group_id;
    a.instance = options_.projector.instance_id;
    a.url = url;
    const LocalPartitions local = Local();
    a.partition_count = local.partition_count;
    for (int p : local.owned) (Holds(local.restoring, p) ? a.restoring : a.owned).push_back(p);
    for (int p : local.following) {  // announced once caught up: the others may forward to it
      if (Holds(local.following_restoring, p)) continue;
      a.standby.push_back(p);
      if (auto it = local.behind.find(p); it != local.behind.end() && it->second >= 0) a.behind[p] = it->second;
    }
    for (const auto* list : {&a.owned, &a.restoring, &a.standby}) {
      for (int p : *list) {
        auto next = store_->NextOffset(p);
        if (next.ok() && next->has_value() && **next > 0) a.positions[p] = **next - 1;
      }
    }
    const InstanceDirectory* d = announced_.load();
    view_.Update(a, d ? d->Others() : std::map<std::string, InstanceAnnouncement>());
    return a;
  }

  Status Run(const std::atomic<bool>& stop, std::ostream& err) {
    // The standby runs beside the owner side, following what the instances'
    // announcements give it (recomputed every second), until the owner side stops.
    std::atomic<bool> standby_stop{false};
    std::thread standby_thread, planner;
    Status standby_status;
    if (standby_ && directory_) {
      standby_thread = std::thread([&] { standby_status = standby_->Run(standby_stop); });
      planner = std::thread([&] {
        while (!standby_stop.load()) {
          standby_->Follow(StandbyPartitions(options_.projector.instance_id, ownership_.Local(nullptr, standby_.get()),
                                             directory_->Others(), options_.standbys));
          for (int i = 0; i < 10 && !standby_stop.load(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }
      });
    } else if (standby_) {
      err << "ledger project: --standbys needs the instances' announcements (see above): no standby\n";
    }
    Status s = owner_->Run(stop);
    standby_stop = true;
    if (planner.joinable()) planner.join();
    if (standby_thread.joinable()) standby_thread.join();
    if (!standby_status.ok()) err << "ledger project: the standby stopped: " << standby_status.message() << "\n";
    return s;
  }

  const ProjectorTotals& totals() const { return owner_->totals(); }
  const std::string& instance() const { return options_.projector.instance_id; }
  GroupRouter& router() { return *router_; }
  nlohmann::ordered_json Describe() const { return view_.Status(); }

 private:
  GroupOptions options_;
  ProjectionStore* store_;
  GroupView view_;
  Ownership ownership_;
  std::unique_ptr<StandbyProjector> standby_;
  std::unique_ptr<Projector> owner_;
  std::unique_ptr<InstanceDirectory> directory_;
  std::atomic<const InstanceDirectory*> announced_{nullptr};  // the directory, once running
  std::optional<GroupCredential> credential_;                 // --group-secret
  std::unique_ptr<GroupRouter> router_;
};

ProjectorGroup::ProjectorGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProjectorGroup::~ProjectorGroup() = default;

Result<std::unique_ptr<ProjectorGroup>> ProjectorGroup::Create(const GroupOptions& options, ProjectionStore* store,
                                                               ProjectorMetrics* metrics,
                                                               prometheus::Registry& registry) {
  auto impl = std::make_unique<Impl>(options, store, registry);
  if (Status s = impl->Init(metrics); !s.ok()) return s;
  return std::unique_ptr<ProjectorGroup>(new ProjectorGroup(std::move(impl)));
}

Status ProjectorGroup::Announce(const std::string& served_url) { return impl_->Announce(served_url); }
Status ProjectorGroup::Run(const std::atomic<bool>& stop, std::ostream& err) { return impl_->Run(stop, err); }
const ProjectorTotals& ProjectorGroup::totals() const { return impl_->totals(); }
const std::string& ProjectorGroup::instance() const { return impl_->instance(); }
GroupRouter& ProjectorGroup::router() { return impl_->router(); }
nlohmann::ordered_json ProjectorGroup::Describe() const { return impl_->Describe(); }

}  // namespace ledger
