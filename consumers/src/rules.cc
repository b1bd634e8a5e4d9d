#include "ledger/rules.h"

#include <algorithm>

#include "ledger/entitlement.h"
#include "ledger/keys.h"
#include "state_generated.h"

namespace ledger {
namespace {

using state::AccountStatus;

template <typename T>
std::string Pack(const T& object) {
  thread_local flatbuffers::FlatBufferBuilder fbb(1024);  // reused: no allocation per event
  fbb.Clear();
  fbb.Finish(T::TableType::Pack(fbb, &object));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

std::string Str(const flatbuffers::String* s) { return s ? s->str() : ""; }
Millis Or(Millis t, Millis fallback) { return t != 0 ? t : fallback; }

// A stored entity: its bytes as read (for its history) and its object form.
template <typename T>
struct Entity {
  std::string key;
  std::optional<std::string_view> bytes;  // as read (see StateLookup)
  std::optional<T> value;
  bool saved = false;  // by this event already
  explicit operator bool() const { return value.has_value(); }
  T* operator->() { return &*value; }
};

// The entity from its stored bytes (none: absent).
template <typename T>
Result<Entity<T>> Decode(std::string key, std::optional<std::string_view> bytes) {
  Entity<T> out{std::move(key), bytes, std::nullopt};
  if (!out.bytes) return out;
  const auto& b = *out.bytes;
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  if (!v.VerifyBuffer<typename T::TableType>(nullptr)) {
    return Status::Corruption("stored state under key " + out.key.substr(0, 1) + "… (" +
                              std::to_string(b.size()) + " bytes) does not verify");
  }
  out.value.emplace();
  flatbuffers::GetRoot<typename T::TableType>(b.data())->UnPackTo(&*out.value);
  return out;
}

template <typename T>
Result<Entity<T>> Load(const StateLookup& lookup, std::string key) {
  auto bytes = lookup(key);
  if (!bytes.ok()) return bytes.status();
  return Decode<T>(std::move(key), *bytes);
}

// One rule application in progress: the outcome and the state it wants written.
struct Step {
  const fb::Envelope& e;
  const EventPosition& pos;
  const StateLookup& lookup;
  std::string account;
  Applied out;

  Millis at() const { return e.occurred_at(); }

  Status Reject(std::string reason) {
    out.outcome = Outcome::kAnomaly;
    out.reason = std::move(reason);
    return Status::Ok();
  }
  void Write(std::string key, std::string value) {
    out.changes.push_back({std::move(key), std::move(value)});
  }
  // Writes a new version of an entity, recorded now, and keeps the version it replaces
  // under its history key (unless that one was recorded at this very time: then no
  // record time ever saw it).
  template <typename T>
  void Save(Entity<T>& entity) {
    // The version replaced keeps its own sources in history; one never seen (recorded at
    // this same millisecond) hands them on.
    // A second Save in one event supersedes nothing recorded.
    if (!entity.saved && (!entity.bytes || flatbuffers::GetRoot<typename T::TableType>(entity.bytes->data())
                                                   ->recorded_at() != pos.recorded_at)) {
      if (entity.bytes) Write(keys::History(entity.key, pos.recorded_at), std::string(*entity.bytes));
      entity->sources.clear();
    }
    entity->recorded_at = pos.recorded_at;
    entity->sources.emplace_back(pos.offset, pos.recorded_at);
    entity.saved = true;
    Write(entity.key, Pack(*entity.value));
  }
};

// ---- accounts ---------------------------------------------------------------------------

AccountStatus StatusNow(const state::AccountStateT& a) {
  return a.changes.empty() ? AccountStatus::Active : a.changes.back()->status;
}

Status ApplyAccount(Step& s, Entity<state::AccountStateT>& account) {
  auto change = [&](AccountStatus status, const flatbuffers::String* reason) {
    auto c = std::make_unique<state::StatusChangeT>();
    c->effective_at = s.at();
    c->status = status;
    c->reason = Str(reason);
    c->recorded_at = s.pos.recorded_at;
    account->changes.push_back(std::move(c));
    s.Save(account);
  };
  const std::string name = "account " + s.account;
  switch (s.e.event_type()) {
    case fb::Event::AccountOpened: {
      if (account) return s.Reject(name + " was already opened");
      auto* ev = s.e.event_as_AccountOpened();
      account.value.emplace();
      account->account_id = s.account;
      account->name = ev->name()->str();
      account->region = Str(ev->region());
      account->opened_at = s.at();
      change(AccountStatus::Active, nullptr);
      return Status::Ok();
    }
    case fb::Event::AccountSuspended:
      if (StatusNow(*account.value) != AccountStatus::Active) {
        return s.Reject(name + " is not active, so it cannot be suspended");
      }
      change(AccountStatus::Suspended, s.e.event_as_AccountSuspended()->reason());
      return Status::Ok();
    case fb::Event::AccountReactivated:
      if (StatusNow(*account.value) != AccountStatus::Suspended) {
        return s.Reject(name + " is not suspended, so it cannot be reactivated");
      }
      change(AccountStatus::Active, s.e.event_as_AccountReactivated()->reason());
      return Status::Ok();
    case fb::Event::AccountClosed:
      if (StatusNow(*account.value) == AccountStatus::Closed) return s.Reject(name + " is already closed");
      change(AccountStatus::Closed, s.e.event_as_AccountClosed()->reason());
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

// Adds an entity to the account's entitlement index of each product it covers (none: a
// consent, under the empty product).
Status IndexEntitlement(Step& s, const std::string& key, std::vector<std::string> products) {
  if (products.empty()) products.push_back("");
  for (const auto& product : products) {
    const std::string index_key = keys::EntitlementIndex(s.account, product);
    auto index = Load<state::EntitlementIndexT>(s.lookup, index_key);
    if (!index.ok()) return index.status();
    if (!*index) index->value.emplace();
    auto& ks = (*index)->keys;
    if (std::find(ks.begin(), ks.end(), key) != ks.end()) continue;
    ks.push_back(key);
    s.Write(index_key, Pack(*index->value));
  }
  return Status::Ok();
}

// ---- agreements -------------------------------------------------------------------------

std::unique_ptr<state::LineStateT> NewLine(const fb::AgreementLine& l, Millis added_at) {
  auto line = std::make_unique<state::LineStateT>();
  line->line_id = l.line_id()->str();
  line->product = l.product()->str();
  line->quantity = l.quantity();
  line->added_at = added_at;
  return line;
}

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

// ---- contacts and portal ----------------------------------------------------------------

Status ApplyContact(Step& s) {
  const bool designate = s.e.event_type() == fb::Event::ContactDesignated;
  const std::string id = designate ? s.e.event_as_ContactDesignated()->contact_id()->str()
                                   : s.e.event_as_ContactRemoved()->contact_id()->str();
  auto loaded = Load<state::ContactStateT>(s.lookup, keys::Contact(s.account, id));
  if (!loaded.ok()) return loaded.status();
  auto& c = *loaded;
  const std::string name = "contact " + id;
  if (designate) {
    if (c && c->removed_at == kForever) return s.Reject(name + " is already designated");
    auto* ev = s.e.event_as_ContactDesignated();
    if (!c) c.value.emplace();
    c->contact_id = id;
    c->name = Str(ev->name());
    c->email = Str(ev->email());
    c->designated_at = s.at();
    c->removed_at = kForever;
    c->removal_reason.clear();
  } else {
    if (!c || c->removed_at != kForever) return s.Reject(name + " is not a designated contact");
    c->removed_at = s.at();
    c->removal_reason = Str(s.e.event_as_ContactRemoved()->reason());
  }
  s.Save(c);
  return Status::Ok();
}

std::string PortalUserIdOf(const fb::Envelope& e) {
  switch (e.event_type()) {
    case fb::Event::PortalUserCreated: return e.event_as_PortalUserCreated()->user_id()->str();
    case fb::Event::PortalUserActivated: return e.event_as_PortalUserActivated()->user_id()->str();
    case fb::Event::PortalPasswordReset: return e.event_as_PortalPasswordReset()->user_id()->str();
    case fb::Event::PortalUserLocked: return e.event_as_PortalUserLocked()->user_id()->str();
    case fb::Event::PortalUserUnlocked: return e.event_as_PortalUserUnlocked()->user_id()->str();
    default: return "";
  }
}

Status ApplyPortal(Step& s) {
  const std::string id = PortalUserIdOf(s.e);
  auto loaded = Load<state::PortalUserStateT>(s.lookup, keys::PortalUser(s.account, id));
  if (!loaded.ok()) return loaded.status();
  auto& u = *loaded;
  const std::string name = "portal user " + id;
  const bool locked = u && !u->locks.empty() && u->locks.back()->until == kForever;
  switch (s.e.event_type()) {
    case fb::Event::PortalUserCreated:
      if (u) return s.Reject(name + " already exists");
      u.value.emplace();
      u->user_id = id;
      u->email = Str(s.e.event_as_PortalUserCreated()->email());
      u->created_at = s.at();
      break;
    case fb::Event::PortalUserActivated:
      if (!u) return s.Reject(name + " is unknown (no PortalUserCreated for it)");
      if (u->activated_at != kForever) return s.Reject(name + " is already activated");
      u->activated_at = s.at();
      break;
    case fb::Event::PortalPasswordReset:
      if (!u) return s.Reject(name + " is unknown (no PortalUserCreated for it)");
      u->password_reset_at = s.at();
      break;
    case fb::Event::PortalUserLocked: {
      if (!u) return s.Reject(name + " is unknown (no PortalUserCreated for it)");
      if (locked) return s.Reject(name + " is already locked");
      auto p = std::make_unique<state::PeriodT>();
      p->from = s.at();
      p->reason = Str(s.e.event_as_PortalUserLocked()->reason());
      u->locks.push_back(std::move(p));
      break;
    }
    case fb::Event::PortalUserUnlocked:
      if (!u) return s.Reject(name + " is unknown (no PortalUserCreated for it)");
      if (!locked) return s.Reject(name + " is not locked");
      u->locks.back()->until = s.at();
      break;
    default:
      return Status::Ok();
  }
  s.Save(u);
  return Status::Ok();
}

// ---- remote access ----------------------------------------------------------------------

// Why a consent does not cover a remote session at t; empty when it does.
std::string ConsentViolation(const Entity<state::ConsentStateT>& c, const std::string& id, Millis t) {
  if (id.empty()) return "no consent named for the session";
  if (!c) return "consent " + id + " is unknown";
  if (t < c.value->given_at) return "consent " + id + " was given only on " + FormatTime(c.value->given_at);
  if (c.value->revoked_at <= t) return "consent " + id + " was revoked on " + FormatTime(c.value->revoked_at);
  if (c.value->expires_at <= t) return "consent " + id + " expired on " + FormatTime(c.value->expires_at);
  return "";
}

Status ApplyRemoteAccess(Step& s) {
  switch (s.e.event_type()) {
    case fb::Event::RemoteAccessConsentGiven: {
      auto* ev = s.e.event_as_RemoteAccessConsentGiven();
      const std::string id = ev->consent_id()->str(), contact_id = ev->contact_id()->str();
      auto contact = Load<state::ContactStateT>(s.lookup, keys::Contact(s.account, contact_id));
      if (!contact.ok()) return contact.status();
      if (!*contact || (*contact)->removed_at != kForever) {
        return s.Reject("consent " + id + " was given by " + contact_id +
                        ", who is not a designated contact of account " + s.account);
      }
      auto c = Load<state::ConsentStateT>(s.lookup, keys::Consent(s.account, id));
      if (!c.ok()) return c.status();
      if (*c) return s.Reject("consent " + id + " already exists");
      if (ev->expires_at() != 0 && ev->expires_at() <= s.at()) {
        return s.Reject("consent " + id + " expires (" + FormatTime(ev->expires_at()) + ") before it is given");
      }
      c->value.emplace();
      (*c)->consent_id = id;
      (*c)->contact_id = contact_id;
      (*c)->terms_version = ev->terms_version()->str();
      (*c)->given_at = s.at();
      (*c)->expires_at = Or(ev->expires_at(), kForever);
      if (Status st = IndexEntitlement(s, c->key, {}); !st.ok()) return st;
      s.Save(*c);
      return Status::Ok();
    }
    case fb::Event::RemoteAccessConsentRevoked: {
      auto* ev = s.e.event_as_RemoteAccessConsentRevoked();
      const std::string id = ev->consent_id()->str();
      auto c = Load<state::ConsentStateT>(s.lookup, keys::Consent(s.account, id));
      if (!c.ok()) return c.status();
      if (!*c) return s.Reject("consent " + id + " is unknown");
      if ((*c)->revoked_at != kForever) return s.Reject("consent " + id + " is already revoked");
      (*c)->revoked_at = s.at();
      (*c)->revoke_reason = Str(ev->reason());
      s.Save(*c);
      return Status::Ok();
    }
    case fb::Event::RemoteSessionStarted: {
      auto* ev = s.e.event_as_RemoteSessionStarted();
      const std::string id = ev->session_id()->str(), consent_id = Str(ev->consent_id());
      auto session = Load<state::SessionStateT>(s.lookup, keys::Session(s.account, id));
      if (!session.ok()) return session.status();
      if (*session) return s.Reject("remote session " + id + " already started");
      auto c = Load<state::ConsentStateT>(s.lookup, keys::Consent(s.account, consent_id));
      if (!c.ok()) return c.status();
      // A session is a fact even without consent: it is recorded, as a violation (rule 7).
      session->value.emplace();
      (*session)->session_id = id;
      (*session)->case_id = Str(ev->case_id());
      (*session)->engineer = Str(ev->engineer());
      (*session)->consent_id = consent_id;
      (*session)->started_at = s.at();
      (*session)->violation = ConsentViolation(*c, consent_id, s.at());
      (*session)->consent_valid = (*session)->violation.empty();
      s.Save(*session);
      return Status::Ok();
    }
    case fb::Event::RemoteSessionEnded: {
      const std::string id = s.e.event_as_RemoteSessionEnded()->session_id()->str();
      auto session = Load<state::SessionStateT>(s.lookup, keys::Session(s.account, id));
      if (!session.ok()) return session.status();
      if (!*session) return s.Reject("remote session " + id + " is unknown");
      if ((*session)->ended_at != kForever) return s.Reject("remote session " + id + " already ended");
      (*session)->ended_at = s.at();
      s.Save(*session);
      return Status::Ok();
    }
    default:
      return Status::Ok();
  }
}

// ---- cases and escalations --------------------------------------------------------------

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
  c->verdict_reasons = verdict.reasons;
  s.Save(c);
  return Status::Ok();
}

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
bool NextLevelAllowed(int current, int next, int severity) {
  if (next == static_cast<int>(fb::EscalationLevel::VirtualTeam)) {
    return severity <= 2 && current != next;
  }
  return current != static_cast<int>(fb::EscalationLevel::VirtualTeam) && next == current + 1;
}

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

// ---- dispatch ---------------------------------------------------------------------------

bool Between(fb::Event t, fb::Event first, fb::Event last) { return t >= first && t <= last; }

std::string EncodeAnomaly(const fb::Envelope& e, const EventPosition& pos, const std::string& reason) {
  state::AnomalyT a;
  a.event_id.assign(e.event_id()->bytes()->begin(), e.event_id()->bytes()->end());
  a.type = EventTypeName(e.event_type());
  a.reason = reason;
  a.partition = pos.partition;
  a.offset = pos.offset;
  a.occurred_at = e.occurred_at();
  a.recorded_at = pos.recorded_at;
  return Pack(a);
}

}  // namespace

UuidBytes EventIdOf(const fb::Envelope& e) {
  UuidBytes id{};
  std::copy(e.event_id()->bytes()->begin(), e.event_id()->bytes()->end(), id.begin());
  return id;
}

std::vector<std::string> KeysRead(const fb::Envelope& e, Seen seen) {
  std::vector<std::string> keys;
  if (seen == Seen::kMaybe) keys.push_back(keys::SeenEvent(EventIdOf(e)));
  if (e.account_id() == nullptr) return keys;
  const std::string_view a = e.account_id()->string_view();
  keys.push_back(keys::Account(a));
  auto str = [](const flatbuffers::String* s) { return s ? s->string_view() : std::string_view(); };
  switch (e.event_type()) {
    case fb::Event::AgreementPurchased:
      if (const auto* lines = e.event_as_AgreementPurchased()->lines()) {
        for (const auto* l : *lines) keys.push_back(keys::EntitlementIndex(a, str(l->product())));
      }
      break;
    case fb::Event::AgreementLineAdded:
      keys.push_back(keys::EntitlementIndex(a, str(e.event_as_AgreementLineAdded()->line()->product())));
      break;
    case fb::Event::SupportExtensionPurchased: {
      auto* ev = e.event_as_SupportExtensionPurchased();
      keys.push_back(keys::Grant(a, str(ev->extension_id())));
      keys.push_back(keys::EntitlementIndex(a, str(ev->product())));
      break;
    }
    case fb::Event::CourtesyGranted: {
      auto* ev = e.event_as_CourtesyGranted();
      keys.push_back(keys::Grant(a, str(ev->grant_id())));
      keys.push_back(keys::EntitlementIndex(a, str(ev->product())));
      break;
    }
    case fb::Event::TemporaryEntitlementGranted: {
      auto* ev = e.event_as_TemporaryEntitlementGranted();
      keys.push_back(keys::Grant(a, str(ev->grant_id())));
      keys.push_back(keys::EntitlementIndex(a, str(ev->product())));
      break;
    }
    case fb::Event::GrantRevoked:
      keys.push_back(keys::Grant(a, str(e.event_as_GrantRevoked()->grant_id())));
      break;
    case fb::Event::ContactDesignated:
      keys.push_back(keys::Contact(a, str(e.event_as_ContactDesignated()->contact_id())));
      break;
    case fb::Event::ContactRemoved:
      keys.push_back(keys::Contact(a, str(e.event_as_ContactRemoved()->contact_id())));
      break;
    case fb::Event::RemoteAccessConsentGiven: {
      auto* ev = e.event_as_RemoteAccessConsentGiven();
      keys.push_back(keys::Contact(a, str(ev->contact_id())));
      keys.push_back(keys::Consent(a, str(ev->consent_id())));
      keys.push_back(keys::EntitlementIndex(a, ""));
      break;
    }
    case fb::Event::RemoteAccessConsentRevoked:
      keys.push_back(keys::Consent(a, str(e.event_as_RemoteAccessConsentRevoked()->consent_id())));
      break;
    case fb::Event::RemoteSessionStarted: {
      auto* ev = e.event_as_RemoteSessionStarted();
      keys.push_back(keys::Session(a, str(ev->session_id())));
      keys.push_back(keys::Consent(a, str(ev->consent_id())));
      break;
    }
    case fb::Event::RemoteSessionEnded:
      keys.push_back(keys::Session(a, str(e.event_as_RemoteSessionEnded()->session_id())));
      break;
    case fb::Event::CaseOpened: {
      auto* ev = e.event_as_CaseOpened();
      keys.push_back(keys::Case(a, str(ev->case_id())));
      keys.push_back(keys::Contact(a, str(ev->contact_id())));
      keys.push_back(keys::EntitlementIndex(a, str(ev->product())));
      break;
    }
    default: {
      const fb::Event t = e.event_type();
      if (Between(t, fb::Event::AgreementPurchased, fb::Event::AgreementLineRemoved)) {
        keys.push_back(keys::Agreement(a, AgreementIdOf(e)));
      } else if (Between(t, fb::Event::CaseOpened, fb::Event::ContinuousEffortsRequested)) {
        keys.push_back(keys::Case(a, CaseIdOf(e)));
      } else if (Between(t, fb::Event::EscalationRequested, fb::Event::EscalationClosed)) {
        keys.push_back(keys::Escalation(a, EscalationIdOf(e)));
        if (t == fb::Event::EscalationRequested) keys.push_back(keys::Case(a, CaseIdOf(e)));
      } else if (Between(t, fb::Event::PortalUserCreated, fb::Event::PortalUserUnlocked)) {
        keys.push_back(keys::PortalUser(a, PortalUserIdOf(e)));
      }
      break;
    }
  }
  if (e.event_type() == fb::Event::AgreementPurchased || e.event_type() == fb::Event::AgreementLineAdded) {
    keys.push_back(keys::Agreement(a, AgreementIdOf(e)));
  }
  return keys;
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kApplied: return "applied";
    case Outcome::kAnomaly: return "anomaly";
    case Outcome::kDuplicate: return "duplicate";
  }
  return "unknown";
}

Result<Applied> ApplyEvent(const fb::Envelope& e, const EventPosition& pos,
                           const StateLookup& lookup, Seen seen) {
  const std::string seen_key = keys::SeenEvent(EventIdOf(e));
  if (seen == Seen::kMaybe) {
    auto stored = lookup(seen_key);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) return Applied{Outcome::kDuplicate, "", {}};
  }

  Step s{e, pos, lookup, e.account_id() ? e.account_id()->str() : "", {}};
  const fb::Event type = e.event_type();
  Status st;
  if (IsReferenceEvent(type)) {
    st = s.Reject(EventTypeName(type) + " is reference data and belongs on " + std::string(kReferenceTopic));
  } else {
    // Only the lifecycle rules need the account's state; the others need it to exist.
    auto account = lookup(keys::Account(s.account));
    if (!account.ok()) return account.status();
    if (!account->has_value() && type != fb::Event::AccountOpened) {
      st = s.Reject("account " + s.account + " is unknown (no AccountOpened for it)");
    } else if (Between(type, fb::Event::AccountOpened, fb::Event::AccountClosed)) {
      auto state = Decode<state::AccountStateT>(keys::Account(s.account), *account);
      if (!state.ok()) return state.status();
      st = ApplyAccount(s, *state);
    } else if (Between(type, fb::Event::PortalUserCreated, fb::Event::PortalUserUnlocked)) {
      st = ApplyPortal(s);
    } else if (Between(type, fb::Event::ContactDesignated, fb::Event::ContactRemoved)) {
      st = ApplyContact(s);
    } else if (Between(type, fb::Event::AgreementPurchased, fb::Event::AgreementLineRemoved)) {
      st = ApplyAgreement(s);
    } else if (Between(type, fb::Event::SupportExtensionPurchased, fb::Event::GrantRevoked)) {
      st = ApplyGrant(s);
    } else if (Between(type, fb::Event::RemoteAccessConsentGiven, fb::Event::RemoteSessionEnded)) {
      st = ApplyRemoteAccess(s);
    } else if (Between(type, fb::Event::CaseOpened, fb::Event::ContinuousEffortsRequested)) {
      st = ApplyCase(s);
    } else if (Between(type, fb::Event::EscalationRequested, fb::Event::EscalationClosed)) {
      st = ApplyEscalation(s);
    }
  }
  if (!st.ok()) return st;

  if (s.out.outcome == Outcome::kAnomaly) {
    s.out.changes.clear();
    s.Write(keys::Anomaly(s.account, pos.offset), EncodeAnomaly(e, pos, s.out.reason));
  } else {
    s.Write(keys::EventLog(s.account, pos.offset), "");  // where it is; its bytes stay in Kafka
  }
  s.Write(seen_key, keys::EncodeOffset(pos.offset));
  return std::move(s.out);
}

}  // namespace ledger
