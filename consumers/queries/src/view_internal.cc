#include "view_internal.h"

#include <algorithm>
#include <limits>
#include <map>

#include "ledger/schema/event_codec.h"
#include "ledger/schema/ledger_generated.h"
#include "ledger/storage/keys.h"

namespace ledger::view {

Result<const EventCodec*> ThreadCodec() {
  thread_local std::unique_ptr<EventCodec> codec;
  if (codec == nullptr) {
    auto created = EventCodec::Create();
    if (!created.ok()) return created.status();
    codec = std::move(*created);
  }
  return codec.get();
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
