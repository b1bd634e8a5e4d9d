// The ledger's questions answered from a projection store: entitlement, case intake,
// cases and escalations, portal access, lists, and the events behind each answer. Every
// question takes a valid time `at` and a record time `known_at`; facts are read as
// known at that record time from each entity's versions (storage/state.fbs), reference
// data as recorded by then. `ledger query` and the HTTP API both call Ask().
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/base/mutex.h"
#include "ledger/base/status.h"
#include "ledger/kafka/event_log.h"
#include "ledger/rules/entitlement.h"
#include "ledger/rules/reference.h"
#include "ledger/storage/projection_store.h"

namespace ledger {

using Json = nlohmann::ordered_json;

// A question by name with its parameters as text, e.g. {"entitlement",
// {{"account","ACME"},{"product","db"},{"at","2025-03-01"}}}. The questions and their
// parameters are the table of ledger/queries/questions.h.
struct Query {
  std::string name;
  std::map<std::string, std::string> params;
};

struct Question;

// Reads `store` (which must outlive it), and for explanations the events themselves from
// `events` (which must outlive it; null: explanations list where the events are, without
// their content). Reference data is loaded at creation; call RefreshReference() to see
// newer records. Thread-safe: questions may be asked from
// several threads while another refreshes the reference data.
class LedgerView {
 public:
  static Result<std::unique_ptr<LedgerView>> Create(const ProjectionStore* store,
                                                    const EventLog* events = nullptr);
  Status RefreshReference();

  // Answers one query. Errors: InvalidInput for a bad or missing parameter (the message
  // names it), NotFound for an unknown case or list, others from the store.
  Result<Json> Ask(const Query& q) const;

  // The entitlement answer itself (the in-process API the benchmark measures).
  Result<EntitlementAnswer> Entitlement(const EntitlementQuestion& q) const;

  // The account's story, in offset order: each event applied to it ({"partition",
  // "offset", "event"}, the event read from the event log; "error" instead if it cannot
  // be) and each anomaly recorded ({"partition", "offset", "anomaly"}). NotFound for an
  // unknown account; Unavailable if the store or the event log cannot be read.
  Result<std::vector<Json>> AccountEvents(const std::string& account) const;

  // The partition holding the account's state, or nullopt for an unknown account.
  Result<std::optional<int>> LocateAccount(const std::string& account) const;

  // The reference data loaded last (RefreshReference swaps it; holders keep theirs).
  std::shared_ptr<const ReferenceData> reference() const;

 private:
  LedgerView(const ProjectionStore* store, const EventLog* events) : store_(store), events_(events) {}
  struct Facts;
  // The account's facts about one product, as known at a record time.
  Result<std::unique_ptr<Facts>> ReadFacts(const std::string& account, const std::string& product,
                                           Millis known_at) const;
  // The partitions to look for an account in, the likeliest first.
  std::vector<int> CandidatePartitions(const std::string& account) const;
  Result<std::optional<std::string>> ReadVersion(int partition, const std::string& key, Millis known_at) const;
  // The version known at R given the current value (already read).
  Result<std::optional<std::string>> VersionAt(int partition, const std::string& key,
                                               std::optional<std::string> current, Millis known_at) const;
  // The answers, one per row of Questions() (ledger/queries/questions.h).
  friend const std::vector<Question>& Questions();
  Result<Json> AskEntitlement(const Query& q) const;
  Result<Json> AskIntake(const Query& q) const;
  Result<Json> AskCase(const Query& q) const;
  Result<Json> AskPortal(const Query& q) const;
  Result<Json> AskList(const Query& q) const;

  const ProjectionStore* store_;
  const EventLog* events_;
  mutable Mutex reference_mu_;
  std::shared_ptr<const ReferenceData> reference_ LEDGER_GUARDED_BY(reference_mu_) =
      std::make_shared<ReferenceData>();
  // Of ledger.reference when reference_ was loaded.
  std::string reference_offsets_ LEDGER_GUARDED_BY(reference_mu_);
  bool reference_loaded_ LEDGER_GUARDED_BY(reference_mu_) = false;
};

// The record time (field 0, `recorded_at`) of a stored entity version; nullopt if the
// bytes are not such a table.
std::optional<Millis> RecordedAtOf(std::string_view entity);

}  // namespace ledger
