// The rules of agreements, grants and support extensions (DESIGN.md rules 1 to 3).
#include "rule_step.h"

#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"

namespace ledger::rules_detail {

using state::AccountStatus;

// ---- agreements -------------------------------------------------------------------------

namespace {

std::unique_ptr<state::LineStateT> NewLine(const fb::AgreementLine& l, Millis added_at) {
  auto line = std::make_unique<state::LineStateT>();
  line->line_id = l.line_id()->str();
  line->product = l.product()->str();
  line->quantity = l.quantity();
  line->added_at = added_at;
  return line;
}

}  // namespace

std::string AgreementIdOf(const fb::Envelope& e) {
  switch (e.event_type()) {
    case fb::Event::AgreementPurchased: return e.event_as_AgreementPurchased()->agreement_id()->str();
    case fb::Event::AgreementRenewed: return e.event_as_AgreementRenewed()->agreement_id()->str();
    case fb::Event::AgreementCoTermed: return e.event_as_AgreementCoTermed()->agreement_id()->str();
    case fb::Event::AgreementTerminated: return e.event_as_AgreementTerminated()->agreement_id()->str();
    case fb::Event::AgreementReinstated: return e.event_as_AgreementReinstated()->agreement_id()->str();
    case fb::Event::AgreementLineAdded: return e.event_as_AgreementLineAdded()->agreement_id()->str();
    case fb::Event::AgreementLineRemoved: return e.event_as_AgreementLineRemoved()->agreement_id()->str();
    default: return "";
  }
}

Status ApplyAgreement(Step& s) {
  const std::string agreement_id = AgreementIdOf(s.e);
  auto loaded = Load<state::AgreementStateT>(s.lookup, keys::Agreement(s.account, agreement_id));
  if (!loaded.ok()) return loaded.status();
  auto& g = *loaded;
  const std::string name = "agreement " + agreement_id;

  if (s.e.event_type() == fb::Event::AgreementPurchased) {
    auto* ev = s.e.event_as_AgreementPurchased();
    if (g) return s.Reject(name + " already exists");
    if (ev->offering() == fb::Offering::Unknown) return s.Reject(name + " has no offering");
    if (ev->starts_at() == 0 || ev->ends_at() <= ev->starts_at()) {
      return s.Reject(name + " needs starts_at before ends_at");
    }
    g.value.emplace();
    g->agreement_id = agreement_id;
    g->offering = static_cast<int8_t>(ev->offering());
    g->starts_at = ev->starts_at();
    g->ends_at = ev->ends_at();
    g->order_id = Str(ev->order_id());
    g->created_at = s.pos.recorded_at;
    std::vector<std::string> products;
    if (ev->lines()) {
      for (const auto* l : *ev->lines()) {
        g->lines.push_back(NewLine(*l, ev->starts_at()));
        products.push_back(l->product()->str());
      }
    }
    if (Status st = IndexEntitlement(s, g.key, products); !st.ok()) return st;
    s.Save(g);
    return Status::Ok();
  }
  if (!g) return s.Reject(name + " is unknown (no AgreementPurchased for it)");
  switch (s.e.event_type()) {
    case fb::Event::AgreementRenewed: {
      auto* ev = s.e.event_as_AgreementRenewed();
      if (ev->ends_at() <= g->ends_at) {
        return s.Reject("renewal of " + name + " to " + FormatTime(ev->ends_at()) +
                        " does not move its end (" + FormatTime(g->ends_at) + ")");
      }
      if (g->terminated_at != kForever) return s.Reject(name + " is terminated; reinstate it first");
      g->ends_at = ev->ends_at();
      g->renewals += 1;
      if (ev->order_id()) g->order_id = ev->order_id()->str();
      break;
    }
    case fb::Event::AgreementCoTermed: {
      auto* ev = s.e.event_as_AgreementCoTermed();
      if (ev->ends_at() <= g->starts_at) {
        return s.Reject("co-terming " + name + " to " + FormatTime(ev->ends_at()) +
                        " would end it before it starts");
      }
      g->ends_at = ev->ends_at();
      g->co_termed_with = Str(ev->co_term_with());
      break;
    }
    case fb::Event::AgreementTerminated: {
      auto* ev = s.e.event_as_AgreementTerminated();
      if (g->terminated_at != kForever) return s.Reject(name + " is already terminated");
      g->terminated_at = Or(ev->effective_at(), s.at());
      g->termination_reason = Str(ev->reason());
      break;
    }
    case fb::Event::AgreementReinstated:
      if (g->terminated_at == kForever) return s.Reject(name + " is not terminated");
      g->terminated_at = kForever;
      g->termination_reason.clear();
      break;
    case fb::Event::AgreementLineAdded: {
      auto* ev = s.e.event_as_AgreementLineAdded();
      const std::string id = ev->line()->line_id()->str();
      for (const auto& l : g->lines) {
        if (l->line_id == id && l->removed_at == kForever) return s.Reject("line " + id + " is already on " + name);
      }
      g->lines.push_back(NewLine(*ev->line(), Or(ev->effective_at(), s.at())));
      if (Status st = IndexEntitlement(s, g.key, {ev->line()->product()->str()}); !st.ok()) return st;
      break;
    }
    case fb::Event::AgreementLineRemoved: {
      auto* ev = s.e.event_as_AgreementLineRemoved();
      const std::string id = ev->line_id()->str();
      state::LineStateT* found = nullptr;
      for (auto& l : g->lines) {
        if (l->line_id == id && l->removed_at == kForever) found = l.get();
      }
      if (!found) return s.Reject("line " + id + " is not on " + name);
      found->removed_at = Or(ev->effective_at(), s.at());
      break;
    }
    default:
      break;
  }
  s.Save(g);
  return Status::Ok();
}

// ---- grants and extensions --------------------------------------------------------------

Status ApplyGrant(Step& s) {
  std::string id;
  state::GrantKind kind = state::GrantKind::Courtesy;
  const flatbuffers::String *product = nullptr, *version = nullptr;
  Millis starts = 0, ends = 0;
  switch (s.e.event_type()) {
    case fb::Event::SupportExtensionPurchased: {
      auto* ev = s.e.event_as_SupportExtensionPurchased();
      id = ev->extension_id()->str(), kind = state::GrantKind::Extension;
      product = ev->product(), version = ev->version(), starts = ev->starts_at(), ends = ev->ends_at();
      break;
    }
    case fb::Event::CourtesyGranted: {
      auto* ev = s.e.event_as_CourtesyGranted();
      id = ev->grant_id()->str(), kind = state::GrantKind::Courtesy;
      product = ev->product(), starts = ev->starts_at(), ends = ev->ends_at();
      break;
    }
    case fb::Event::TemporaryEntitlementGranted: {
      auto* ev = s.e.event_as_TemporaryEntitlementGranted();
      id = ev->grant_id()->str(), kind = state::GrantKind::Temporary;
      product = ev->product(), starts = ev->starts_at(), ends = ev->ends_at();
      break;
    }
    case fb::Event::GrantRevoked:
      id = s.e.event_as_GrantRevoked()->grant_id()->str();
      break;
    default:
      return Status::Ok();
  }
  auto loaded = Load<state::GrantStateT>(s.lookup, keys::Grant(s.account, id));
  if (!loaded.ok()) return loaded.status();
  auto& g = *loaded;
  const std::string name = "grant " + id;
  if (s.e.event_type() == fb::Event::GrantRevoked) {
    auto* ev = s.e.event_as_GrantRevoked();
    if (!g) return s.Reject(name + " is unknown (never granted)");
    if (g->revoked_at != kForever) return s.Reject(name + " was already revoked on " + FormatTime(g->revoked_at));
    g->revoked_at = Or(ev->effective_at(), s.at());
    g->revoke_reason = Str(ev->reason());
    s.Save(g);
    return Status::Ok();
  }
  if (g) return s.Reject(name + " already exists");
  starts = Or(starts, s.at());
  if (ends <= starts) return s.Reject(name + " needs starts_at before ends_at");
  g.value.emplace();
  g->grant_id = id;
  g->kind = kind;
  g->product = product->str();
  g->version = Str(version);
  g->starts_at = starts;
  g->ends_at = ends;
  if (auto* ev = s.e.event_as_CourtesyGranted()) g->reason = Str(ev->reason()), g->granted_by = Str(ev->granted_by());
  if (auto* ev = s.e.event_as_TemporaryEntitlementGranted()) g->reason = Str(ev->reason()), g->order_id = Str(ev->order_id());
  if (Status st = IndexEntitlement(s, g.key, {g->product}); !st.ok()) return st;
  s.Save(g);
  return Status::Ok();
}

}  // namespace ledger::rules_detail
