// The rules of contacts, portal users and remote access (DESIGN.md rules 5, 7 and 8).
#include "rule_step.h"

#include "ledger/storage/keys.h"
#include "ledger/storage/state_generated.h"

namespace ledger::rules_detail {

using state::AccountStatus;

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
namespace {

std::string ConsentViolation(const Entity<state::ConsentStateT>& c, const std::string& id, Millis t) {
  if (id.empty()) return "no consent named for the session";
  if (!c) return "consent " + id + " is unknown";
  if (t < c.value->given_at) return "consent " + id + " was given only on " + FormatTime(c.value->given_at);
  if (c.value->revoked_at <= t) return "consent " + id + " was revoked on " + FormatTime(c.value->revoked_at);
  if (c.value->expires_at <= t) return "consent " + id + " expired on " + FormatTime(c.value->expires_at);
  return "";
}

}  // namespace

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

}  // namespace ledger::rules_detail
