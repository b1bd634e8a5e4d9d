// The rules of cases and escalations (DESIGN.md rules 4 to 6).
#include "rule_step.h"

#include <algorithm>

#include "ledger/rules/entitlement.h"
#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"

namespace ledger::rules_detail {

using state::AccountStatus;

// ---- cases and escalations --------------------------------------------------------------

namespace {

state::CaseStatus CaseStatusNow(const state::CaseStateT& c) {
  return c.changes.empty() ? state::CaseStatus::Open : c.changes.back()->status;
}
void SetCaseStatus(state::CaseStateT& c, state::CaseStatus status, Millis at) {
  auto ch = std::make_unique<state::CaseStatusChangeT>();
  ch->effective_at = at;
  ch->status = status;
  c.changes.push_back(std::move(ch));
}

// The account's facts about one product as stored now, for a case's verdict. The tables
// point into what the lookup viewed.
Result<AccountFacts> ReadFacts(Step& s, const std::string& product) {
  auto read = [&](const std::string& key) -> Result<const char*> {
    auto v = s.lookup(key);
    if (!v.ok()) return v.status();
    if (!v->has_value()) return static_cast<const char*>(nullptr);
    return (*v)->data();
  };
  AccountFacts facts;
  auto account = read(keys::Account(s.account));
  if (!account.ok()) return account.status();
  facts.account = *account ? flatbuffers::GetRoot<state::AccountState>(*account) : nullptr;
  auto index = read(keys::EntitlementIndex(s.account, product));
  if (!index.ok()) return index.status();
  if (*index == nullptr) return facts;
  const auto* idx = flatbuffers::GetRoot<state::EntitlementIndex>(*index);
  if (idx->keys() == nullptr) return facts;
  for (const auto* key : *idx->keys()) {
    const std::string k = key->str();
    auto v = read(k);
    if (!v.ok()) return v.status();
    if (*v == nullptr) continue;
    if (keys::KindOf(k) == keys::kAgreementTag) {
      facts.agreements.push_back(flatbuffers::GetRoot<state::AgreementState>(*v));
    } else {
      facts.grants.push_back(flatbuffers::GetRoot<state::GrantState>(*v));
    }
  }
  return facts;
}

Status OpenCase(Step& s, Entity<state::CaseStateT>& c) {
  auto* ev = s.e.event_as_CaseOpened();
  const std::string id = ev->case_id()->str(), contact_id = ev->contact_id()->str();
  if (c) return s.Reject("case " + id + " already exists");
  if (ev->severity() < 1 || ev->severity() > 4) {
    return s.Reject("case " + id + " has severity " + std::to_string(ev->severity()) + "; it must be 1 to 4");
  }
  auto contact = Load<state::ContactStateT>(s.lookup, keys::Contact(s.account, contact_id));
  if (!contact.ok()) return contact.status();
  std::string why;
  if (!ContactDesignatedAt(contact->value ? flatbuffers::GetRoot<state::ContactState>(contact->bytes->data()) : nullptr,
                           contact_id, s.at(), &why)) {
    return s.Reject("case " + id + " cannot be opened: " + why + " of account " + s.account);
  }
  auto facts = ReadFacts(s, ev->product()->str());
  if (!facts.ok()) return facts.status();
  EntitlementQuestion q{s.account, ev->product()->str(), Str(ev->version()), s.at()};
  const EntitlementAnswer verdict = EvaluateEntitlement(q, *facts, nullptr);

  c.value.emplace();
  c->case_id = id;
  c->contact_id = contact_id;
  c->product = q.product;
  c->version = q.version;
  c->severity = c->opening_severity = ev->severity();
  c->summary = Str(ev->summary());
  c->language = Str(ev->language());
  c->opened_at = s.at();
  SetCaseStatus(*c.value, state::CaseStatus::Open, s.at());
  c->entitled = verdict.entitled;
  if (!verdict.bases.empty()) {
    c->basis_kind = verdict.bases.front().kind;
    c->basis_id = verdict.bases.front().id;
  }
  fb::Offering offering = fb::Offering::Unknown;
  for (int i = 0; i < 4; ++i) {
    if (fb::EnumNamesOffering()[i] == verdict.offering) offering = static_cast<fb::Offering>(i);
  }
  c->offering = static_cast<int8_t>(offering);
  // The first reasons (the basis first), not one per fact of a large account: a case is
  // rewritten by each of its events.
  constexpr size_t kReasonsKept = 16;
  c->verdict_reasons.assign(verdict.reasons.begin(),
                            verdict.reasons.begin() + std::min(verdict.reasons.size(), kReasonsKept));
  if (verdict.reasons.size() > kReasonsKept) {
    c->verdict_reasons.push_back("... and " + std::to_string(verdict.reasons.size() - kReasonsKept) +
                                 " more about the account's other agreements and grants");
  }
  s.Save(c);
  return Status::Ok();
}

}  // namespace

std::string CaseIdOf(const fb::Envelope& e) {
  switch (e.event_type()) {
    case fb::Event::CaseOpened: return e.event_as_CaseOpened()->case_id()->str();
    case fb::Event::CaseSeverityChanged: return e.event_as_CaseSeverityChanged()->case_id()->str();
    case fb::Event::CaseAcknowledged: return e.event_as_CaseAcknowledged()->case_id()->str();
    case fb::Event::CaseResolved: return e.event_as_CaseResolved()->case_id()->str();
    case fb::Event::CaseClosed: return e.event_as_CaseClosed()->case_id()->str();
    case fb::Event::CaseReopened: return e.event_as_CaseReopened()->case_id()->str();
    case fb::Event::ContinuousEffortsRequested: return e.event_as_ContinuousEffortsRequested()->case_id()->str();
    case fb::Event::EscalationRequested: return e.event_as_EscalationRequested()->case_id()->str();
    default: return "";
  }
}

Status ApplyCase(Step& s) {
  const std::string id = CaseIdOf(s.e);
  auto loaded = Load<state::CaseStateT>(s.lookup, keys::Case(s.account, id));
  if (!loaded.ok()) return loaded.status();
  auto& c = *loaded;
  if (s.e.event_type() == fb::Event::CaseOpened) return OpenCase(s, c);
  const std::string name = "case " + id;
  if (!c) return s.Reject(name + " is unknown (no CaseOpened for it)");
  const state::CaseStatus status = CaseStatusNow(*c.value);
  const bool open = status == state::CaseStatus::Open;
  switch (s.e.event_type()) {
    case fb::Event::CaseSeverityChanged: {
      const int severity = s.e.event_as_CaseSeverityChanged()->severity();
      if (!open) return s.Reject(name + " is not open");
      if (severity < 1 || severity > 4) return s.Reject(name + ": severity " + std::to_string(severity) + " must be 1 to 4");
      c->severity = static_cast<int8_t>(severity);
      {
        auto change = std::make_unique<state::SeverityChangeT>();
        change->effective_at = s.at();
        change->severity = static_cast<int8_t>(severity);
        c->severity_changes.push_back(std::move(change));
      }
      break;
    }
    case fb::Event::CaseAcknowledged:
      if (c->acknowledged_at != kForever) return s.Reject(name + " was already acknowledged on " + FormatTime(c->acknowledged_at));
      c->acknowledged_at = s.at();
      break;
    case fb::Event::CaseResolved:
      if (!open) return s.Reject(name + " is not open");
      SetCaseStatus(*c.value, state::CaseStatus::Resolved, s.at());
      break;
    case fb::Event::CaseClosed:
      if (status == state::CaseStatus::Closed) return s.Reject(name + " is already closed");
      SetCaseStatus(*c.value, state::CaseStatus::Closed, s.at());
      break;
    case fb::Event::CaseReopened:
      if (open) return s.Reject(name + " is open");
      SetCaseStatus(*c.value, state::CaseStatus::Open, s.at());
      break;
    case fb::Event::ContinuousEffortsRequested:
      if (!open) return s.Reject(name + " is not open");
      if (c->severity != 1) return s.Reject("continuous efforts are for severity 1; " + name + " is severity " + std::to_string(c->severity));
      c->continuous_efforts_at = s.at();
      break;
    default:
      break;
  }
  s.Save(c);
  return Status::Ok();
}

// The escalation ladder (rule 6): duty manager, advanced line, back line, product
// engineering; a virtual team for high-impact severity 1 and 2 cases.
namespace {

bool NextLevelAllowed(int current, int next, int severity) {
  if (next == static_cast<int>(fb::EscalationLevel::VirtualTeam)) {
    return severity <= 2 && current != next;
  }
  return current != static_cast<int>(fb::EscalationLevel::VirtualTeam) && next == current + 1;
}

}  // namespace

std::string EscalationIdOf(const fb::Envelope& e) {
  switch (e.event_type()) {
    case fb::Event::EscalationRequested: return e.event_as_EscalationRequested()->escalation_id()->str();
    case fb::Event::EscalationLevelRaised: return e.event_as_EscalationLevelRaised()->escalation_id()->str();
    case fb::Event::EscalationManagerAssigned: return e.event_as_EscalationManagerAssigned()->escalation_id()->str();
    case fb::Event::EscalationClosed: return e.event_as_EscalationClosed()->escalation_id()->str();
    default: return "";
  }
}

Status ApplyEscalation(Step& s) {
  const std::string id = EscalationIdOf(s.e);
  auto loaded = Load<state::EscalationStateT>(s.lookup, keys::Escalation(s.account, id));
  if (!loaded.ok()) return loaded.status();
  auto& x = *loaded;
  const std::string name = "escalation " + id;
  const std::string case_id = x ? x->case_id : CaseIdOf(s.e);
  auto case_loaded = Load<state::CaseStateT>(s.lookup, keys::Case(s.account, case_id));
  if (!case_loaded.ok()) return case_loaded.status();
  auto& c = *case_loaded;
  auto level_change = [&](int level, const flatbuffers::String* reason) {
    auto l = std::make_unique<state::LevelChangeT>();
    l->effective_at = s.at();
    l->level = static_cast<int8_t>(level);
    l->reason = Str(reason);
    x->levels.push_back(std::move(l));
  };
  if (s.e.event_type() == fb::Event::EscalationRequested) {
    auto* ev = s.e.event_as_EscalationRequested();
    if (x) return s.Reject(name + " already exists");
    if (!c) return s.Reject(name + " is for case " + case_id + ", which is unknown");
    if (CaseStatusNow(*c.value) != state::CaseStatus::Open) return s.Reject(name + ": case " + case_id + " is not open");
    if (!c->entitled) return s.Reject(name + ": case " + case_id + " was not entitled when opened, so it cannot be escalated");
    if (!c->open_escalation.empty()) return s.Reject(name + ": case " + case_id + " is already escalated (" + c->open_escalation + ")");
    const int level = static_cast<int>(ev->level());
    if (level != static_cast<int>(fb::EscalationLevel::DutyManager) && !NextLevelAllowed(-1, level, c->severity)) {
      return s.Reject(name + " starts at " + fb::EnumNameEscalationLevel(ev->level()) +
                      "; an escalation starts with the duty manager (or a virtual team for severity 1 or 2)");
    }
    x.value.emplace();
    x->escalation_id = id;
    x->case_id = case_id;
    x->requested_at = s.at();
    level_change(level, ev->reason());
    c->escalation_ids.push_back(id);
    c->open_escalation = id;
    s.Save(c);
    s.Save(x);
    return Status::Ok();
  }
  if (!x) return s.Reject(name + " is unknown (no EscalationRequested for it)");
  if (x->closed_at != kForever) return s.Reject(name + " is closed");
  switch (s.e.event_type()) {
    case fb::Event::EscalationLevelRaised: {
      auto* ev = s.e.event_as_EscalationLevelRaised();
      const int current = x->levels.empty() ? 0 : x->levels.back()->level;
      const int severity = c ? c->severity : 4;
      if (!NextLevelAllowed(current, static_cast<int>(ev->level()), severity)) {
        return s.Reject(name + " cannot go from " + fb::EnumNameEscalationLevel(static_cast<fb::EscalationLevel>(current)) +
                        " to " + fb::EnumNameEscalationLevel(ev->level()));
      }
      level_change(static_cast<int>(ev->level()), ev->reason());
      break;
    }
    case fb::Event::EscalationManagerAssigned:
      x->manager = s.e.event_as_EscalationManagerAssigned()->manager()->str();
      break;
    case fb::Event::EscalationClosed:
      x->closed_at = s.at();
      x->outcome = Str(s.e.event_as_EscalationClosed()->outcome());
      if (c && c->open_escalation == id) {
        c->open_escalation.clear();
        s.Save(c);
      }
      break;
    default:
      break;
  }
  s.Save(x);
  return Status::Ok();
}

}  // namespace ledger::rules_detail
