#include "ledger/cluster/group_view.h"

#include "ledger/cluster/group_plan.h"

namespace ledger {

GroupView::GroupView(prometheus::Registry& registry)
    : partitions_(prometheus::BuildGauge()
                      .Name("ledger_group_partitions")
                      .Help("Partitions of ledger.events this instance owns (caught up), is restoring, or follows as a standby")
                      .Register(registry)),
      owned_(partitions_.Add({{"role", "owned"}})),
      restoring_(partitions_.Add({{"role", "restoring"}})),
      standby_(partitions_.Add({{"role", "standby"}})),
      unserved_(prometheus::BuildGauge()
                    .Name("ledger_group_partitions_unserved")
                    .Help("Partitions with no caught-up owner and no standby in the group, as this instance sees it")
                    .Register(registry)
                    .Add({})),
      standby_lag_(prometheus::BuildGauge()
                       .Name("ledger_standby_lag_events")
                       .Help("The most events a partition this instance follows as a standby (caught up once) is "
                             "behind the partition's end (0: none behind, or no standby)")
                       .Register(registry)
                       .Add({})),
      ignored_(prometheus::BuildCounter()
                   .Name("ledger_group_announcements_ignored_total")
                   .Help("Records of ledger.instances this instance ignored, by reason (other_group, unsigned, "
                         "bad_signature, stale, malformed, bad_url)")
                   .Register(registry)) {
  for (const char* reason : {"unsigned", "bad_signature", "stale", "malformed", "bad_url"}) {
    ignored_.Add({{"reason", reason}});
  }
}

void GroupView::CountIgnored(const std::string& reason) { ignored_.Add({{"reason", reason}}).Increment(); }

void GroupView::Update(const InstanceAnnouncement& self, const std::map<std::string, InstanceAnnouncement>& others) {
  owned_.Set(static_cast<double>(self.owned.size()));
  restoring_.Set(static_cast<double>(self.restoring.size()));
  standby_.Set(static_cast<double>(self.standby.size()));
  int unserved = 0;
  for (int p = 0; p < self.partition_count; ++p) {
    bool served = Holds(self.owned, p) || Holds(self.standby, p);
    for (const auto& [id, a] : others) served = served || Holds(a.owned, p) || Holds(a.standby, p);
    if (!served) ++unserved;
  }
  unserved_.Set(unserved);
  int64_t lag = 0;
  for (const auto& [p, behind] : self.behind) lag = std::max(lag, behind);
  standby_lag_.Set(static_cast<double>(lag));
  std::lock_guard lock(mu_);
  self_ = self;
  others_ = others;
}

nlohmann::ordered_json GroupView::Status() const {
  using Json = nlohmann::ordered_json;
  std::lock_guard lock(mu_);
  auto entry = [](const InstanceAnnouncement& a) {
    Json positions = Json::object();
    for (const auto& [p, o] : a.positions) positions[std::to_string(p)] = o;
    Json behind = Json::object();
    for (const auto& [p, n] : a.behind) behind[std::to_string(p)] = n;
    return Json{{"instance", a.instance}, {"url", a.url},        {"owned", a.owned},         {"restoring", a.restoring},
                {"standby", a.standby},   {"positions", positions}, {"behind", behind}};
  };
  Json group = Json::array();
  for (const auto& [id, a] : others_) group.push_back(entry(a));
  return Json{{"group", self_.group}, {"self", entry(self_)}, {"others", group}};
}

}  // namespace ledger
