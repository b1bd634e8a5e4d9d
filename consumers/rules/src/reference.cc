#include "ledger/rules/reference.h"

#include <date/tz.h>

#include "ledger/schema/ledger_generated.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/projection_store.h"

namespace ledger {
namespace {

std::string Str(const flatbuffers::String* s) { return s ? s->str() : ""; }

// The version in effect at t among those recorded by r: the latest effective_at <= t;
// of equal effective times, the latest recorded.
template <typename K, typename F>
const F* InEffect(const std::map<K, std::vector<F>>& table, const K& key, Millis t, Millis r) {
  auto it = table.find(key);
  if (it == table.end()) return nullptr;
  const F* best = nullptr;
  for (const F& f : it->second) {
    if (f.source.effective_at > t || f.source.recorded_at > r) continue;
    if (best == nullptr || f.source.effective_at > best->source.effective_at ||
        (f.source.effective_at == best->source.effective_at &&
         f.source.recorded_at >= best->source.recorded_at)) {
      best = &f;
    }
  }
  return best;
}

std::string Pair(std::string_view a, std::string_view b) {
  std::string k(a);
  k.push_back('/');
  k.append(b);
  return k;
}

Millis OrForever(Millis t) { return t == 0 ? kForever : t; }

}  // namespace

void ReferenceData::Add(const fb::Envelope& e, const ReferenceSource& where) {
  ReferenceSource src = where;
  ++records_;
  switch (e.event_type()) {
    case fb::Event::ProductVersionLifecycle: {
      auto* v = e.event_as_ProductVersionLifecycle();
      src.effective_at = v->effective_at();
      lifecycles_[Pair(v->product()->string_view(), v->version()->string_view())].push_back(
          {v->released_at(), OrForever(v->end_of_standard_support_at()),
           OrForever(v->end_of_support_life_at()), src});
      break;
    }
    case fb::Event::ServiceLevelDefined: {
      auto* v = e.event_as_ServiceLevelDefined();
      src.effective_at = v->effective_at();
      service_levels_[{static_cast<int>(v->offering()), static_cast<int>(v->severity())}].push_back({static_cast<int>(v->coverage()), v->response_minutes(), v->named_account_manager(), src});
      break;
    }
    case fb::Event::LanguageSupportDefined: {
      auto* v = e.event_as_LanguageSupportDefined();
      src.effective_at = v->effective_at();
      LanguageFact f{{}, Str(v->time_zone()), src};
      if (v->languages()) {
        for (const auto* l : *v->languages()) f.languages.push_back(l->str());
      }
      languages_[v->region()->str()].push_back(std::move(f));
      break;
    }
    case fb::Event::ExtensionProgrammeDefined: {
      auto* v = e.event_as_ExtensionProgrammeDefined();
      src.effective_at = v->effective_at();
      programmes_[Pair(v->product()->string_view(), v->version()->string_view())].push_back(
          {OrForever(v->available_until_at()), src});
      break;
    }
    case fb::Event::PolicySet: {
      auto* v = e.event_as_PolicySet();
      src.effective_at = v->effective_at();
      policies_[v->name()->str()].push_back({Str(v->value()), src});
      break;
    }
    default:
      --records_;
      break;
  }
}

Result<ReferenceData> ReferenceData::Load(const ProjectionStore& store) {
  ReferenceData data;
  Status s = store.Scan(keys::kReferencePartition, "", [&](std::string_view k, std::string_view v) {
    if (k.rfind(keys::kNextOffset, 0) == 0) return true;
    auto value = DecodeReferenceValue(v);
    if (!value) return true;
    auto e = VerifyEnvelope(value->envelope.data(), value->envelope.size());
    if (!e.ok()) return true;  // verified when stored; a damaged value is verify's to report
    data.Add(**e, {std::string(k), value->partition, value->offset, 0, value->recorded_at});
    return true;
  });
  if (!s.ok()) return s;
  return data;
}

const LifecycleFact* ReferenceData::Lifecycle(const std::string& product, const std::string& version,
                                              Millis t, Millis r) const {
  return InEffect(lifecycles_, Pair(product, version), t, r);
}
std::vector<std::string> ReferenceData::Versions(const std::string& product, Millis t, Millis r) const {
  std::vector<std::string> out;
  const std::string prefix = Pair(product, "");
  for (auto it = lifecycles_.lower_bound(prefix); it != lifecycles_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    if (InEffect(lifecycles_, it->first, t, r) != nullptr) out.push_back(it->first.substr(prefix.size()));
  }
  return out;
}
const ServiceLevelFact* ReferenceData::ServiceLevel(int offering, int severity, Millis t, Millis r) const {
  return InEffect(service_levels_, std::pair<int, int>(offering, severity), t, r);
}
const LanguageFact* ReferenceData::Languages(const std::string& region, Millis t, Millis r) const {
  return InEffect(languages_, region, t, r);
}
const ProgrammeFact* ReferenceData::Programme(const std::string& product, const std::string& version,
                                              Millis t, Millis r) const {
  return InEffect(programmes_, Pair(product, version), t, r);
}
const PolicyFact* ReferenceData::Policy(const std::string& name, Millis t, Millis r) const {
  return InEffect(policies_, name, t, r);
}

std::string EncodeReferenceValue(Millis recorded_at, int partition, int64_t offset,
                                 std::string_view envelope) {
  std::string v = keys::EncodeOffset(recorded_at) + keys::EncodeOffset(partition) + keys::EncodeOffset(offset);
  v.append(envelope);
  return v;
}

std::optional<ReferenceValue> DecodeReferenceValue(std::string_view value) {
  if (value.size() < 24) return std::nullopt;
  return ReferenceValue{keys::DecodeOffset(value.substr(0, 8)),
                        static_cast<int>(keys::DecodeOffset(value.substr(8, 8))),
                        keys::DecodeOffset(value.substr(16, 8)), value.substr(24)};
}

Result<Millis> AddBusinessMinutes(Millis start, int minutes, const std::string& time_zone) {
  using namespace std::chrono;
  const date::time_zone* tz = nullptr;
  try {
    tz = date::locate_zone(time_zone.empty() ? "UTC" : time_zone);
  } catch (const std::exception&) {
    return Status::InvalidInput("unknown time zone \"" + time_zone + "\"");
  }
  constexpr auto kOpen = hours(8), kClose = hours(18);
  auto now = sys_time<milliseconds>(milliseconds(start));
  milliseconds left(int64_t{minutes} * 60000);
  // Walks day by day: at most one step per calendar day, whatever the target.
  for (int guard = 0; guard < 100000; ++guard) {
    const auto local = tz->to_local(now);
    const auto day = floor<date::days>(local);
    const date::weekday wd{day};
    const auto open = tz->to_sys(day + kOpen, date::choose::earliest);
    const auto close = tz->to_sys(day + kClose, date::choose::earliest);
    const bool workday = wd != date::Saturday && wd != date::Sunday;
    if (workday && now < close) {
      if (now < open) now = open;
      const auto room = close - now;
      if (left <= room) return (now + left).time_since_epoch().count();
      left -= duration_cast<milliseconds>(room);
    }
    // Next day's local midnight.
    now = tz->to_sys(day + date::days(1), date::choose::earliest);
  }
  return Status::InvalidInput("response target beyond reach");
}

}  // namespace ledger
