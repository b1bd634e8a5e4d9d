#include "view_internal.h"

#include <algorithm>
#include <limits>
#include <map>

#include "ledger/schema/event_codec.h"
#include "ledger/schema/ledger_generated.h"
#include "ledger/storage/keys.h"

namespace ledger::view {

// ---- explain ----------------------------------------------------------------------------

namespace {

// The events that wrote a stored entity version (field 1, `sources`).
const flatbuffers::Vector<const state::EventRef*>* SourcesOf(std::string_view entity) {
  if (entity.size() < 8) return nullptr;
  const auto root = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(entity.data());
  if (root + 4 > entity.size()) return nullptr;
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(entity.data()), entity.size());
  const auto* t = flatbuffers::GetRoot<flatbuffers::Table>(entity.data());
  if (!t->VerifyTableStart(v) || !t->VerifyOffset(v, 6)) return nullptr;
  const auto* refs = t->GetPointer<const flatbuffers::Vector<const state::EventRef*>*>(6);
  if (refs == nullptr || !v.VerifyVector(refs)) return nullptr;
  return refs;
}

}  // namespace

Status AddExplanation(Json& answer, const ProjectionStore& store, const EventLog* events, int partition,
                      const std::string& account,
                      const std::vector<std::string>& entity_keys, Millis known_at,
                      const std::vector<ReferenceSource>& reference) {
  std::map<int64_t, Millis> offsets;
  auto note = [&](std::string_view version) {
    const auto r = RecordedAtOf(version);
    const auto* refs = SourcesOf(version);
    if (!r || refs == nullptr || *r > known_at) return;
    for (const state::EventRef* ref : *refs) offsets[ref->offset()] = ref->recorded_at();
  };
  for (const auto& key : entity_keys) {
    auto current = store.Get(partition, key);
    if (!current.ok()) return current.status();
    if (current->has_value()) note(**current);
    Status s = store.Scan(partition, keys::HistoryPrefix(key), [&](std::string_view, std::string_view v) {
      note(v);
      return true;
    });
    if (!s.ok()) return s;
  }
  auto codec = EventCodec::Create();
  if (!codec.ok()) return codec.status();
  // The events' content, from ledger.events; without it the answer still says where they
  // are, and why their content is missing.
  std::map<int64_t, std::string> raws;
  std::string unread;
  if (events == nullptr) {
    unread = "not read: this view reads no broker (the event is in " + std::string(kEventsTopic) + ")";
  } else {
    std::vector<int64_t> wanted;
    for (const auto& entry : offsets) wanted.push_back(entry.first);
    auto read = events->Read(partition, std::move(wanted));
    if (read.ok()) {
      raws = std::move(*read);
    } else {
      unread = read.status().message();
    }
  }
  Json out = Json::array();
  for (const auto& [offset, recorded_at] : offsets) {
    Json e = {{"topic", std::string(kEventsTopic)}, {"partition", partition}, {"offset", offset},
              {"recorded_at", FormatTime(recorded_at)}};
    auto raw = raws.find(offset);
    if (raw == raws.end()) {
      e["error"] = unread.empty() ? std::string("the event is no longer in ") + std::string(kEventsTopic) : unread;
    } else if (auto json = (*codec)->ToJson(raw->second.data(), raw->second.size()); json.ok()) {
      Json event = Json::parse(*json);
      e["occurred_at"] = event.value("occurred_at", "");
      e["type"] = event.value("type", "");
      e["event"] = std::move(event);
    } else {
      e["error"] = json.status().message();
    }
    out.push_back(std::move(e));
  }
  for (const ReferenceSource& r : reference) {
    out.push_back({{"topic", std::string(kReferenceTopic)}, {"partition", r.partition}, {"offset", r.offset},
                   {"recorded_at", FormatTime(r.recorded_at)}, {"key", r.key},
                   {"effective_at", FormatTime(r.effective_at)}});
  }
  answer["events"] = std::move(out);
  return Status::Ok();
}

// ---- cases ------------------------------------------------------------------------------

namespace {

const char* CaseStatusName(state::CaseStatus s) {
  switch (s) {
    case state::CaseStatus::Open: return "open";
    case state::CaseStatus::Resolved: return "resolved";
    case state::CaseStatus::Closed: return "closed";
  }
  return "unknown";
}

}  // namespace

std::string CaseStatusAt(const state::CaseState& c, Millis t) {
  const char* status = "not yet open";
  Millis best = std::numeric_limits<Millis>::min();
  if (c.changes() == nullptr) return status;
  for (const auto* ch : *c.changes()) {
    if (ch->effective_at() <= t && ch->effective_at() >= best) best = ch->effective_at(), status = CaseStatusName(ch->status());
  }
  return status;
}

int LevelAt(const state::EscalationState& x, Millis t) {
  int level = -1;
  Millis best = std::numeric_limits<Millis>::min();
  if (x.levels() == nullptr) return level;
  for (const auto* l : *x.levels()) {
    if (l->effective_at() <= t && l->effective_at() >= best) best = l->effective_at(), level = l->level();
  }
  return level;
}

std::string LevelName(int level) {
  return level < 0 ? "none" : fb::EnumNameEscalationLevel(static_cast<fb::EscalationLevel>(level));
}

ResponseTarget TargetOf(const state::CaseState& c, const std::string& region, const ReferenceData& ref, Millis t,
                        Millis known_at) {
  ResponseTarget r;
  if (!c.entitled()) {
    r.status = "none";
    r.reasons.push_back("the case was not entitled when opened: no response target");
    return r;
  }
  // The severity in effect at the first response, or at t if none by then; the latest
  // change by its time (ties: the one applied last).
  const Millis until = std::min(t, c.acknowledged_at());
  r.severity = c.opening_severity();
  Millis latest = std::numeric_limits<Millis>::min();
  if (c.severity_changes() != nullptr) {
    for (const auto* change : *c.severity_changes()) {
      if (change->effective_at() <= until && change->effective_at() >= latest) {
        latest = change->effective_at();
        r.severity = change->severity();
      }
    }
  }
  const ServiceLevelFact* sl = ref.ServiceLevel(c.offering(), r.severity, c.opened_at(), known_at);
  if (sl == nullptr) {
    r.status = "none";
    r.reasons.push_back("no service level is defined for " +
                        std::string(fb::EnumNameOffering(static_cast<fb::Offering>(c.offering()))) + " severity " +
                        std::to_string(r.severity));
    return r;
  }
  if (r.severity != c.opening_severity()) {
    r.reasons.push_back("the target is for severity " + std::to_string(r.severity) + " (changed from " +
                        std::to_string(c.opening_severity()) + "), counted from the opening");
  }
  r.sources.push_back(sl->source);
  r.minutes = sl->response_minutes;
  if (sl->coverage == static_cast<int>(fb::Coverage::BusinessHours)) {
    r.coverage = "business hours";
    const LanguageFact* l = ref.Languages(region, c.opened_at(), known_at);
    std::string tz = l ? l->time_zone : "";
    if (l) r.sources.push_back(l->source);
    if (tz.empty()) r.reasons.push_back("no time zone is defined for region \"" + region + "\"; business hours in UTC");
    auto due = AddBusinessMinutes(c.opened_at(), sl->response_minutes, tz);
    if (!due.ok()) {
      r.reasons.push_back(due.status().message() + "; business hours in UTC");
      due = AddBusinessMinutes(c.opened_at(), sl->response_minutes, "UTC");
    }
    r.due_at = due.ok() ? *due : kForever;
  } else {
    r.coverage = "24x7";
    r.due_at = c.opened_at() + Millis{sl->response_minutes} * 60000;
  }
  const Millis ack = c.acknowledged_at() <= t ? c.acknowledged_at() : kForever;
  if (ack != kForever) {
    r.status = ack <= r.due_at ? "met" : "breached";
  } else {
    r.status = t >= r.due_at ? "breached" : "pending";
  }
  return r;
}

}  // namespace ledger::view
