#include "ledger/rules/entitlement.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "ledger/base/text.h"
#include "ledger/schema/ledger_generated.h"
#include "ledger/storage/state_generated.h"

namespace ledger {
namespace {

using Json = nlohmann::ordered_json;

std::string Str(const flatbuffers::String* s) { return s ? s->str() : ""; }
bool Is(const flatbuffers::String* s, const std::string& v) { return s && s->string_view() == v; }

std::string OfferingName(int offering) {
  return fb::EnumNameOffering(static_cast<fb::Offering>(offering));
}
// Business Critical over Essential over Basic.
int OfferingRank(int offering) {
  switch (static_cast<fb::Offering>(offering)) {
    case fb::Offering::BusinessCriticalServices: return 3;
    case fb::Offering::EssentialSupport: return 2;
    case fb::Offering::BasicMaintenance: return 1;
    default: return 0;
  }
}
int OfferingByName(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(fb::Offering::MAX); ++i) {
    if (name == fb::EnumNamesOffering()[i]) return i;
  }
  return 0;
}

const char* GrantKindName(state::GrantKind k) {
  switch (k) {
    case state::GrantKind::Courtesy: return "courtesy";
    case state::GrantKind::Temporary: return "temporary";
    case state::GrantKind::Extension: return "extension";
  }
  return "grant";
}

std::string Reason(const std::string& prefix, const flatbuffers::String* why) {
  return why && why->size() > 0 ? prefix + " (" + why->str() + ")" : prefix;
}

// The grace period in effect at t (policy agreement.grace_period_days), in ms.
Millis GracePeriod(const ReferenceData* ref, Millis t, Millis r, std::vector<std::string>* notes) {
  if (ref == nullptr) return 0;
  const PolicyFact* p = ref->Policy(kGracePeriodPolicy, t, r);
  if (p == nullptr) return 0;
  int days = 0;
  auto [end, ec] = std::from_chars(p->value.data(), p->value.data() + p->value.size(), days);
  if (ec != std::errc() || end != p->value.data() + p->value.size() || days < 0 || days > 3650) {
    notes->push_back("policy " + std::string(kGracePeriodPolicy) + " has the value \"" + p->value +
                     "\", which is not a number of days; no grace period applied");
    return 0;
  }
  return Millis{days} * 86400000;
}

void JoinVersionPhase(const EntitlementQuestion& q, const ReferenceData* ref, EntitlementAnswer& a) {
  if (ref == nullptr || q.version.empty()) return;
  const LifecycleFact* l = ref->Lifecycle(q.product, q.version, q.at, q.known_at);
  if (l == nullptr) {
    a.version_phase = "unknown";
    // A typo of a known version is named (from the reference data as known at R).
    const std::vector<std::string> known = ref->Versions(q.product, q.at, q.known_at);
    const std::string near = ClosestName(q.version, known);
    std::string list;
    for (size_t i = 0; i < known.size() && i < 10; ++i) list += (i ? ", " : "") + known[i];
    if (known.size() > 10) list += ", ...";
    a.reasons.push_back("no lifecycle is defined for " + q.product + " " + q.version +
                        "; the version was not checked" + (near.empty() ? "" : "; did you mean " + near + "?") +
                        (known.empty() ? "" : " (versions of " + q.product + " with a lifecycle: " + list + ")"));
  } else if (q.at < l->end_of_standard_support_at) {
    a.version_phase = "full";
    a.phase_until = l->end_of_standard_support_at;
  } else if (q.at < l->end_of_support_life_at) {
    a.version_phase = "partial";
    a.phase_until = l->end_of_support_life_at;
  } else {
    a.version_phase = "none";
  }
}

// `version_end`: the asked version's End of Support Life (kForever if none is asked or
// known): an agreement covers the version until then at most.
void AddAgreementBases(const EntitlementQuestion& q, const AccountFacts& f, Millis grace,
                       const LifecycleFact* eol, Millis version_end, EntitlementAnswer& a, bool* any) {
  const Millis t = q.at;
  for (const state::AgreementState* g : f.agreements) {
    if (g->lines() == nullptr) continue;
    const std::string id = Str(g->agreement_id());
    const std::string name = "agreement " + id + " (" + OfferingName(g->offering()) + ")";
    const bool terminated = g->terminated_at() != kForever;
    const Millis end = terminated ? std::min(g->ends_at(), g->terminated_at()) : g->ends_at() + grace;
    for (const state::LineState* l : *g->lines()) {
      if (!Is(l->product(), q.product)) continue;
      *any = true;
      if (t < g->starts_at()) {
        a.reasons.push_back(name + " starts on " + FormatTime(g->starts_at()));
      } else if (t >= end) {
        a.reasons.push_back(terminated && g->terminated_at() <= g->ends_at()
                                ? Reason(name + " was terminated on " + FormatTime(g->terminated_at()), g->termination_reason())
                                : name + " lapsed: it ended on " + FormatTime(g->ends_at()) +
                                      (grace > 0 ? " and its grace period on " + FormatTime(end) : ""));
      } else if (t < l->added_at()) {
        a.reasons.push_back("product " + q.product + " is covered by " + name + " only from " + FormatTime(l->added_at()));
      } else if (t >= l->removed_at()) {
        a.reasons.push_back("product " + q.product + " was removed from " + name + " on " + FormatTime(l->removed_at()));
      } else if (eol != nullptr) {
        a.reasons.push_back(name + " covers " + q.product + ", but version " + q.version +
                            " is past End of Support Life since " + FormatTime(eol->end_of_support_life_at));
      } else {
        if (t >= g->ends_at()) {
          a.reasons.push_back(name + " ended on " + FormatTime(g->ends_at()) + "; it is in its grace period until " + FormatTime(end));
        }
        a.bases.push_back({"agreement", id, OfferingName(g->offering()), std::max(g->starts_at(), l->added_at()),
                           std::min({end, l->removed_at(), version_end})});
      }
    }
  }
}

// The offering a grant's cases are served under: that of the latest agreement line for
// the product, if any.
std::string GrantOffering(const EntitlementQuestion& q, const AccountFacts& f) {
  const state::AgreementState* latest = nullptr;
  for (const state::AgreementState* g : f.agreements) {
    if (g->lines() == nullptr) continue;
    for (const state::LineState* l : *g->lines()) {
      if (Is(l->product(), q.product) && (latest == nullptr || g->starts_at() > latest->starts_at())) latest = g;
    }
  }
  return latest ? OfferingName(latest->offering()) : "";
}

void AddGrantBases(const EntitlementQuestion& q, const AccountFacts& f, const ReferenceData* ref,
                   EntitlementAnswer& a, bool* any) {
  const Millis t = q.at;
  for (const state::GrantState* g : f.grants) {
    if (!Is(g->product(), q.product)) continue;
    const bool extension = g->kind() == state::GrantKind::Extension;
    const std::string name = std::string(extension ? "support extension " : std::string(GrantKindName(g->kind())) + " grant ") +
                             Str(g->grant_id());
    if (extension && !Is(g->version(), q.version)) {
      if (!q.version.empty()) a.reasons.push_back(name + " covers version " + Str(g->version()) + ", not " + q.version);
      continue;
    }
    *any = true;
    if (extension && ref != nullptr) {
      const ProgrammeFact* p = ref->Programme(q.product, q.version, g->starts_at(), q.known_at);
      if (p == nullptr) {
        a.reasons.push_back("no support-extension programme is defined for " + q.product + " " + q.version +
                            "; " + name + " counted as bought");
      } else if (g->starts_at() >= p->available_until_at) {
        a.reasons.push_back(name + " starts after the extension programme for " + q.product + " " + q.version +
                            " closed on " + FormatTime(p->available_until_at));
        continue;
      }
    }
    const Millis end = std::min(g->ends_at(), g->revoked_at());
    if (g->revoked_at() <= t) {
      a.reasons.push_back(Reason(name + " was revoked on " + FormatTime(g->revoked_at()), g->revoke_reason()));
    } else if (t < g->starts_at()) {
      a.reasons.push_back(name + " starts on " + FormatTime(g->starts_at()));
    } else if (t >= end) {
      a.reasons.push_back(name + " ended on " + FormatTime(g->ends_at()));
    } else {
      a.bases.push_back({GrantKindName(g->kind()), Str(g->grant_id()), GrantOffering(q, f), g->starts_at(), end});
      if (extension && a.version_phase == "none") {
        a.version_phase = "extended";
        a.phase_until = end;
      }
    }
  }
}

void JoinServiceLevel(const EntitlementQuestion& q, const AccountFacts& f, const ReferenceData* ref,
                      EntitlementAnswer& a) {
  if (ref == nullptr) return;
  const std::string region = Str(f.account->region());
  a.region = region;
  if (const LanguageFact* l = ref->Languages(region, q.at, q.known_at)) {
    a.languages = l->languages;
    a.time_zone = l->time_zone;
  }
  // English everywhere; the local language support table adds to it.
  if (std::find(a.languages.begin(), a.languages.end(), "en") == a.languages.end() &&
      std::find(a.languages.begin(), a.languages.end(), "English") == a.languages.end()) {
    a.languages.insert(a.languages.begin(), "en");
  }
  if (q.severity == 0 || a.offering.empty()) return;
  const ServiceLevelFact* s = ref->ServiceLevel(OfferingByName(a.offering), q.severity, q.at, q.known_at);
  if (s == nullptr) {
    a.reasons.push_back("no service level is defined for " + a.offering + " severity " + std::to_string(q.severity));
    return;
  }
  a.coverage = s->coverage == static_cast<int>(fb::Coverage::TwentyFourSeven) ? "24x7"
               : s->coverage == static_cast<int>(fb::Coverage::BusinessHours) ? "business hours"
                                                                               : "none";
  a.response_minutes = s->response_minutes;
  a.named_account_manager = s->named_account_manager;
}

void JoinRemoteAccess(const EntitlementQuestion& q, const AccountFacts& f, const ReferenceData* ref,
                      EntitlementAnswer& a) {
  RemoteAccess& r = a.remote_access;
  if (ref != nullptr) {
    if (const PolicyFact* p = ref->Policy(kRemoteTermsPolicy, q.at, q.known_at)) r.required_terms_version = p->value;
  }
  const state::ConsentState* best = nullptr;
  for (const state::ConsentState* c : f.consents) {
    const std::string id = "consent " + Str(c->consent_id());
    if (q.at < c->given_at()) continue;
    if (c->revoked_at() <= q.at) {
      r.reasons.push_back(Reason(id + " was revoked on " + FormatTime(c->revoked_at()), c->revoke_reason()));
    } else if (c->expires_at() <= q.at) {
      r.reasons.push_back(id + " expired on " + FormatTime(c->expires_at()));
    } else if (!r.required_terms_version.empty() && !Is(c->terms_version(), r.required_terms_version)) {
      r.reasons.push_back(id + " is to terms " + Str(c->terms_version()) + "; terms " +
                          r.required_terms_version + " are in effect");
    } else if (best == nullptr || c->expires_at() > best->expires_at()) {
      best = c;
    }
  }
  if (best != nullptr) {
    r.consent_active = true;
    r.consent_id = Str(best->consent_id());
    r.contact_id = Str(best->contact_id());
    r.terms_version = Str(best->terms_version());
    r.expires_at = best->expires_at();
    r.reasons.clear();
  } else if (f.consents.empty()) {
    r.reasons.push_back("no consent to the Remote Access Standard Terms was given");
  }
}

}  // namespace

std::string AccountStatusAt(const state::AccountState* account, Millis t, Millis* since) {
  if (account == nullptr) return "unknown";
  std::optional<state::AccountStatus> status;
  Millis best = std::numeric_limits<Millis>::min();
  if (account->changes() != nullptr) {
    // The latest change effective at or before t (ties: the one applied last).
    for (const auto* c : *account->changes()) {
      if (c->effective_at() <= t && c->effective_at() >= best) {
        best = c->effective_at();
        status = c->status();
      }
    }
  }
  *since = best;
  if (!status) return "not yet open";
  switch (*status) {
    case state::AccountStatus::Active: return "active";
    case state::AccountStatus::Suspended: return "suspended";
    case state::AccountStatus::Closed: return "closed";
  }
  return "unknown";
}

bool ContactDesignatedAt(const state::ContactState* c, const std::string& id, Millis t, std::string* reason) {
  if (c == nullptr) {
    *reason = id + " is not a designated contact";
  } else if (t < c->designated_at()) {
    *reason = id + " is a designated contact only from " + FormatTime(c->designated_at());
  } else if (c->removed_at() <= t) {
    *reason = Reason(id + " was removed as a designated contact on " + FormatTime(c->removed_at()), c->removal_reason());
  } else {
    return true;
  }
  return false;
}

EntitlementAnswer EvaluateEntitlement(const EntitlementQuestion& q, const AccountFacts& f,
                                      const ReferenceData* ref) {
  EntitlementAnswer a;
  a.question = q;
  const Millis t = q.at;
  Millis since = 0;
  a.account_status = AccountStatusAt(f.account, t, &since);
  if (f.account == nullptr) {
    a.reasons.push_back("account " + q.account + " is unknown to the ledger");
    return a;
  }
  if (a.account_status == "not yet open") {
    a.reasons.push_back("account " + q.account + " was opened on " + FormatTime(f.account->opened_at()) + ", after the time asked");
  } else if (a.account_status != "active") {
    a.reasons.push_back("account " + q.account + " is " + a.account_status + " since " + FormatTime(since));
  }

  JoinVersionPhase(q, ref, a);
  const LifecycleFact* eol = nullptr;
  Millis version_end = kForever;
  if (a.version_phase == "none") eol = ref->Lifecycle(q.product, q.version, q.at, q.known_at);
  if (a.version_phase == "full" || a.version_phase == "partial") {
    version_end = ref->Lifecycle(q.product, q.version, q.at, q.known_at)->end_of_support_life_at;
  }
  const Millis grace = GracePeriod(ref, t, q.known_at, &a.reasons);
  bool any = false;
  AddAgreementBases(q, f, grace, eol, version_end, a, &any);
  AddGrantBases(q, f, ref, a, &any);
  if (!any) {
    a.reasons.push_back("no agreement, extension or grant of account " + q.account + " covers product " +
                        q.product + (q.version.empty() ? "" : " " + q.version));
  }
  a.entitled = a.account_status == "active" && !a.bases.empty();

  // The best basis first: agreements by offering, then extensions and grants.
  std::stable_sort(a.bases.begin(), a.bases.end(), [](const EntitlementBasis& x, const EntitlementBasis& y) {
    const int rx = x.kind == "agreement" ? 10 + OfferingRank(OfferingByName(x.offering)) : 0;
    const int ry = y.kind == "agreement" ? 10 + OfferingRank(OfferingByName(y.offering)) : 0;
    return rx > ry;
  });
  if (!a.bases.empty()) {
    a.offering = a.bases.front().offering;
    Millis until = 0;
    for (const auto& b : a.bases) until = std::max(until, b.until);
    if (a.entitled) a.until = until;
  }
  JoinServiceLevel(q, f, ref, a);
  JoinRemoteAccess(q, f, ref, a);
  return a;
}

const std::vector<Handbook>& Handbooks() {
  static const auto* handbooks = new std::vector<Handbook>{
      {"Essential Support and Basic Maintenance Handbook",
       {static_cast<int>(fb::Offering::EssentialSupport), static_cast<int>(fb::Offering::BasicMaintenance)},
       "Essential Support or Basic Maintenance"},
      {"Business Critical Services Handbook", {static_cast<int>(fb::Offering::BusinessCriticalServices)},
       "Business Critical Services"},
  };
  return *handbooks;
}

const Handbook* FindHandbook(const std::string& name) {
  for (const Handbook& h : Handbooks()) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

PortalAnswer EvaluatePortal(PortalAnswer a, const state::AccountState* account, const state::PortalUserState* u,
                            const std::vector<const state::AgreementState*>& agreements) {
  Millis since = 0;
  const std::string status = AccountStatusAt(account, a.at, &since);
  const std::string name = "portal user " + a.user;
  if (status != "active") {
    a.reasons.push_back("account " + a.account + " is " + status + (account ? " at the time asked" : ""));
  }
  if (u == nullptr || a.at < u->created_at()) {
    a.reasons.push_back(name + " does not exist");
  } else {
    if (u->activated_at() > a.at) a.reasons.push_back(name + " is not activated");
    if (u->locks() != nullptr) {
      for (const auto* p : *u->locks()) {
        if (p->from() <= a.at && a.at < p->until()) {
          a.reasons.push_back(Reason(name + " is locked since " + FormatTime(p->from()), p->reason()));
        }
      }
    }
  }
  if (const Handbook* h = a.handbook.empty() ? nullptr : FindHandbook(a.handbook); h != nullptr && account) {
    bool current = false;
    for (const state::AgreementState* g : agreements) {
      const Millis end = std::min(g->ends_at(), g->terminated_at());
      if (std::find(h->offerings.begin(), h->offerings.end(), static_cast<int>(g->offering())) != h->offerings.end() &&
          g->starts_at() <= a.at && a.at < end) {
        current = true;
      }
    }
    if (!current) {
      a.reasons.push_back("the " + h->name + " is for accounts with a current " + h->offerings_text +
                          " agreement; account " + a.account + " has none at the time asked");
    }
  }
  a.allowed = a.reasons.empty();
  return a;
}

std::string EntitlementToJson(const EntitlementAnswer& a) {
  // The question's own text (from a command line or a URL) may not be UTF-8.
  return EntitlementAsJson(a).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json EntitlementAsJson(const EntitlementAnswer& a) {
  Json j;
  j["account"] = a.question.account;
  j["product"] = a.question.product;
  if (!a.question.version.empty()) j["version"] = a.question.version;
  j["at"] = FormatTime(a.question.at);
  if (a.question.known_at != kForever) j["known_at"] = FormatTime(a.question.known_at);
  j["entitled"] = a.entitled;
  j["account_status"] = a.account_status;
  if (a.until) j["until"] = FormatTime(*a.until);
  j["basis"] = Json::array();
  for (const auto& b : a.bases) {
    j["basis"].push_back({{"kind", b.kind}, {"id", b.id}, {"offering", b.offering},
                          {"from", FormatTime(b.from)}, {"until", FormatTime(b.until)}});
  }
  j["reasons"] = a.reasons;
  if (!a.version_phase.empty()) {
    j["version_phase"] = a.version_phase;
    if (a.phase_until) j["phase_until"] = FormatTime(*a.phase_until);
  }
  if (!a.offering.empty()) j["offering"] = a.offering;
  if (a.question.severity != 0) j["severity"] = a.question.severity;
  if (!a.coverage.empty()) {
    j["coverage"] = a.coverage;
    j["response_minutes"] = *a.response_minutes;
    j["named_account_manager"] = a.named_account_manager;
  }
  if (!a.region.empty()) j["region"] = a.region;
  if (!a.languages.empty()) j["languages"] = a.languages;
  if (!a.time_zone.empty()) j["time_zone"] = a.time_zone;
  const RemoteAccess& r = a.remote_access;
  Json ra = {{"consent_active", r.consent_active}};
  if (r.consent_active) {
    ra["consent_id"] = r.consent_id;
    ra["contact_id"] = r.contact_id;
    ra["terms_version"] = r.terms_version;
    ra["expires_at"] = FormatTime(r.expires_at);
  }
  if (!r.required_terms_version.empty()) ra["required_terms_version"] = r.required_terms_version;
  if (!r.reasons.empty()) ra["reasons"] = r.reasons;
  j["remote_access"] = ra;
  return j;
}

Json PortalAsJson(const PortalAnswer& a) {
  Json j = {{"account", a.account}, {"user", a.user}, {"handbook", a.handbook}, {"at", FormatTime(a.at)}};
  if (a.known_at != kForever) j["known_at"] = FormatTime(a.known_at);
  j["allowed"] = a.allowed;
  j["reasons"] = a.reasons;
  return j;
}

}  // namespace ledger
