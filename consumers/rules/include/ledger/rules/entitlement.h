// Entitlement (DESIGN.md rules 1-4, 7, 8): is an account entitled to support for a
// product and version at a valid time T, on what basis, until when, with what coverage
// and response target, and if not, every reason why not. Pure functions over the
// account's stored facts (FlatBuffers tables read in place) and, when given, the
// reference data; ledger/ledger_view.h reads those inputs from a store.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/base/time.h"
#include "ledger/rules/reference.h"

namespace ledger {

namespace state {
struct AccountState;
struct AgreementState;
struct GrantState;
struct ConsentState;
struct ContactState;
struct PortalUserState;
}  // namespace state

// One account's facts, as known at some record time. Pointers into buffers the caller
// keeps alive. `account` is null for an account unknown (at that record time).
struct AccountFacts {
  const state::AccountState* account = nullptr;
  std::vector<const state::AgreementState*> agreements;
  std::vector<const state::GrantState*> grants;  // courtesy, temporary, extensions
  std::vector<const state::ConsentState*> consents;
};

struct EntitlementQuestion {
  std::string account;
  std::string product;
  std::string version;     // empty: any version (no lifecycle rule applied)
  Millis at = 0;           // valid time asked about
  Millis known_at = kForever;  // record time: what the ledger believed then
  int severity = 0;        // 1..4 for a response target; 0: none asked
};

// One thing that entitles the account.
struct EntitlementBasis {
  std::string kind;      // "agreement", "extension", "courtesy", "temporary"
  std::string id;        // the agreement or grant id
  std::string offering;  // "EssentialSupport", ...; for a grant, that of the latest
                         // agreement line for the product, if any
  Millis from = 0;       // this basis holds from (inclusive)
  Millis until = 0;      // until (exclusive)
};

struct RemoteAccess {
  bool consent_active = false;
  std::string consent_id;
  std::string contact_id;
  std::string terms_version;
  Millis expires_at = kForever;
  std::string required_terms_version;  // from policy remote_access.terms_version, if set
  std::vector<std::string> reasons;    // why no consent is active
};

struct EntitlementAnswer {
  EntitlementQuestion question;
  bool entitled = false;
  std::string account_status;  // "active", "suspended", "closed", "unknown", "not yet open"
  std::vector<EntitlementBasis> bases;
  std::optional<Millis> until;       // the latest end of any basis, when entitled
  std::vector<std::string> reasons;  // why not, in plain words (and, when entitled, notes)

  // Joined from reference data (empty when none was given or none is defined).
  std::string version_phase;         // "full", "partial", "extended", "none", "unknown"
  std::optional<Millis> phase_until;  // when the phase ends
  std::string offering;              // the best basis's offering
  std::string coverage;              // "24x7", "business hours"
  std::optional<int> response_minutes;
  bool named_account_manager = false;
  std::string region;
  std::vector<std::string> languages;
  std::string time_zone;
  RemoteAccess remote_access;
};

// Rules 1-4 and 7 at q.at. With `reference` null (when an event is applied: rules never
// read reference data), the version phase, service levels and languages are skipped, and
// an agreement line counts whatever the version.
EntitlementAnswer EvaluateEntitlement(const EntitlementQuestion& q, const AccountFacts& facts,
                                      const ReferenceData* reference);

// The account's status at T ("active", ...) and since when.
std::string AccountStatusAt(const state::AccountState* account, Millis t, Millis* since);

// Whether a contact is a designated contact at T; if not, why not in `reason`.
bool ContactDesignatedAt(const state::ContactState* contact, const std::string& contact_id,
                         Millis t, std::string* reason);

// The handbooks of the support page, and the offerings each one is for.
struct Handbook {
  std::string name;            // as the support page names it
  std::vector<int> offerings;  // fb::Offering values
  std::string offerings_text;  // "Essential Support or Basic Maintenance"
};
const std::vector<Handbook>& Handbooks();
const Handbook* FindHandbook(const std::string& name);  // null for another name

// Rule 8: a portal user may read a handbook if activated, not locked, and the account is
// active at T; and a handbook only with a current agreement of an offering it is for.
struct PortalAnswer {
  std::string account;
  std::string user;
  std::string handbook;
  Millis at = 0;
  Millis known_at = kForever;
  bool allowed = false;
  std::vector<std::string> reasons;
};
// `agreements`: the account's agreements (the handbook check reads them).
PortalAnswer EvaluatePortal(PortalAnswer question, const state::AccountState* account,
                            const state::PortalUserState* user,
                            const std::vector<const state::AgreementState*>& agreements);

// The JSON forms that `ledger query … --format json` prints and the HTTP API returns.
nlohmann::ordered_json EntitlementAsJson(const EntitlementAnswer& a);
nlohmann::ordered_json PortalAsJson(const PortalAnswer& a);
std::string EntitlementToJson(const EntitlementAnswer& a);  // the same, as text

}  // namespace ledger
