// Entitlement: is an account entitled to support for a product at a time, on what
// basis, until when, and if not, why not. EvaluateEntitlement is pure; the
// EntitlementService reads its inputs from the projection store.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/projection_store.h"
#include "ledger/status.h"
#include "ledger/time.h"

namespace ledger {

namespace state {
struct AccountState;
struct AgreementState;
}  // namespace state

struct EntitlementQuestion {
  std::string account;
  std::string product;
  std::string version;  // echoed; version lifecycle rules come with reference data
  Millis at = 0;        // valid time asked about
};

// One thing that entitles the account.
struct EntitlementBasis {
  std::string kind;      // "agreement"
  std::string id;        // the agreement id
  std::string offering;  // "EssentialSupport", ...
  Millis from = 0;       // this basis holds from (inclusive)
  Millis until = 0;      // until (exclusive)
};

struct EntitlementAnswer {
  EntitlementQuestion question;
  bool entitled = false;
  std::string account_status;  // "active", "suspended", "closed", "unknown", "not yet open"
  std::vector<EntitlementBasis> bases;
  std::optional<Millis> until;       // the latest end of any basis, when entitled
  std::vector<std::string> reasons;  // why not (and notes), in plain words
};

// The rule (DESIGN.md, rules 1 and 2, agreements only): entitled when the account is
// active at T and an agreement is current at T (starts_at <= T < ends_at, before any
// termination) with a line covering the product at T. Reads the stored (verified)
// FlatBuffers tables in place; `account` is null for an unknown account.
EntitlementAnswer EvaluateEntitlement(const EntitlementQuestion& q,
                                      const state::AccountState* account,
                                      const std::vector<const state::AgreementState*>& agreements);

// Answers questions from a projection store. Thread-safe if the store is.
class EntitlementService {
 public:
  explicit EntitlementService(const ProjectionStore* store) : store_(store) {}

  // The partition holding the account's state, or nullopt for an unknown account.
  Result<std::optional<int>> LocateAccount(const std::string& account) const;

  Result<EntitlementAnswer> Entitlement(const EntitlementQuestion& q) const;

 private:
  const ProjectionStore* store_;
};

// The answer as JSON (the form `ledger query entitlement --format json` prints).
std::string EntitlementToJson(const EntitlementAnswer& a);

}  // namespace ledger
