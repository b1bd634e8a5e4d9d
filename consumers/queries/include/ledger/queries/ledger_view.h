// The ledger's questions answered from a projection store: entitlement, case intake,
// cases and escalations, portal access, lists, and the events behind each answer. Every
// question takes a valid time `at` and a record time `known_at`; an account's facts as
// known at that record time are the fold of its journal entries recorded by then
// (ledger/rules/journal.h), reference data as recorded by then. `ledger query` and the
// HTTP API both call Ask().
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/base/mutex.h"
#include "ledger/base/positions.h"
#include "ledger/base/status.h"
#include "ledger/rules/entitlement.h"
#include "ledger/rules/journal.h"
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

// The order of a list's items (GET /v1/lists): by the item's first time column, then
// account and id; anomalies by record time, then log position. Lists merged from several
// instances keep it.
std::string ListOrderKey(const Json& item);
// Sorts `items` into that order, stably; each item's key is made once (a list may hold
// hundreds of thousands of items).
void SortInListOrder(std::vector<Json>& items);

// What one list may cost (GET /v1/lists): the entries it reads, of its kind across the
// partitions it covers, and its time. Past either it fails with TooLarge (HTTP 422)
// saying how to narrow it.
struct ListBounds {
  int64_t most_entries = 500'000;
  std::chrono::milliseconds deadline{10'000};
};

// Reads `store` (which must outlive it): the state, and the events behind an answer from
// the accounts' journals. Reference data is loaded at creation; call RefreshReference()
// to see newer records. Thread-safe: questions may be asked from several threads while
// another refreshes the reference data.
class LedgerView {
 public:
  static Result<std::unique_ptr<LedgerView>> Create(const ProjectionStore* store);
  Status RefreshReference();
  // Not thread-safe: set before asking.
  void set_list_bounds(const ListBounds& bounds) { list_bounds_ = bounds; }

  // Answers one query. Errors: InvalidInput for a bad or missing parameter (the message
  // names it), NotFound for an unknown case or list, others from the store.
  Result<Json> Ask(const Query& q) const;

  // The entitlement answer itself (the in-process API the benchmark measures).
  Result<EntitlementAnswer> Entitlement(const EntitlementQuestion& q) const;

  // The account's story, in offset order: each event of its journal ({"partition",
  // "offset", "event"}) and each anomaly recorded ({"partition", "offset", "anomaly"},
  // with "event" when the rejected event is journaled); also for an account whose every
  // event was rejected. NotFound for an account with no trace.
  Result<std::vector<Json>> AccountEvents(const std::string& account) const;

  // The partition holding the account's state, or nullopt for an unknown account.
  Result<std::optional<int>> LocateAccount(const std::string& account) const;
  // For an account the ledger does not know (never opened): the partition holding its
  // events recorded by `known_at` that were rejected (anomalies, journal entries), or
  // nullopt if it has none.
  Result<std::optional<int>> LocateRejected(const std::string& account, Millis known_at = kForever) const;
  // Advice about an account the ledger does not know now, for the person asking (not part
  // of any answer, which stays a function of what was recorded): how many of its events
  // were rejected and where to see why, else the known ids closest to it ("did you mean
  // ..." among the known ids that begin with its first two characters); "" when there
  // is nothing to add. Reads a bounded number of accounts.
  std::string UnknownAccountHint(const std::string& account) const;
  // The position an answer about `account` reflects: its partition in this store (where
  // it would be, for an account the store does not know) and the last offset projected
  // there (-1: none yet); nullopt while the store has no partition.
  Result<std::optional<std::pair<int, int64_t>>> PositionOf(const std::string& account) const;
  // The positions a list over `partitions` (empty: every partition of the store)
  // reflects: each partition and the last offset projected there (none: not listed).
  Result<Positions> PositionsOf(const std::vector<int>& partitions) const;
  // Waits until the store has projected each of `positions` (the partition's next offset
  // is past the position's offset), reading the store's offsets every 10 ms for at most
  // `max_wait`; `catch_up` (may be null) is called before each read (a read-only store
  // follows its writer with it). Unavailable, naming the first partition behind and where
  // it stands, when the wait ends first; a store error as it is.
  Status AwaitPositions(const Positions& positions, std::chrono::milliseconds max_wait,
                        const std::function<Status()>& catch_up = nullptr) const;

  // The reference data loaded last (RefreshReference swaps it; holders keep theirs).
  std::shared_ptr<const ReferenceData> reference() const;

 private:
  explicit LedgerView(const ProjectionStore* store) : store_(store) {}
  struct Facts;
  struct AccountJournal;
  struct KnownState;
  // While one lives on a thread, the journals and folds read on it are kept for reuse
  // (one question reads an account's state as known at R once).
  class QuestionScope {
   public:
    QuestionScope();
    ~QuestionScope();
    QuestionScope(const QuestionScope&) = delete;
    QuestionScope& operator=(const QuestionScope&) = delete;

   private:
    bool owner_ = false;
  };
  // The account's journal entries in `scope`.
  Result<std::shared_ptr<const AccountJournal>> ReadJournal(int partition, const std::string& account,
                                                            FoldScope scope = FoldScope::kAll) const;
  // The account's state as known at R: the fold of its journal entries recorded by R
  // (those in `scope`).
  Result<std::shared_ptr<const KnownState>> FoldedAt(int partition, const std::string& account, Millis known_at,
                                                     FoldScope scope = FoldScope::kAll) const;
  // Whether the account's stored state is stale (a late event's refold of a long account
  // runs beside the projection): then its current state is read from its journal.
  Result<bool> StaleInStore(int partition, const std::string& account) const;
  // The keys with `prefix` (of `account`) and their values, as known at R, in key order.
  Status ScanAt(int partition, const std::string& account, const std::string& prefix, Millis known_at,
                const std::function<bool(std::string_view key, std::string_view value)>& visit) const;
  // The account's facts about one product, as known at a record time.
  Result<std::unique_ptr<Facts>> ReadFacts(const std::string& account, const std::string& product,
                                           Millis known_at) const;
  // The partitions to look for an account in, the likeliest first.
  std::vector<int> CandidatePartitions(const std::string& account) const;
  // Adds "events" to an answer: the events that wrote the entities used (their
  // sources, as known at R), in log order, from the account's journal; then the
  // reference records joined in.
  Status Explain(Json& answer, int partition, const std::string& account, const std::vector<std::string>& entity_keys,
                 Millis known_at, const std::vector<ReferenceSource>& reference) const;
  // The partition of an account known at R (opened in the fold of what was recorded by R).
  Result<std::optional<int>> LocateAccountAt(const std::string& account, Millis known_at) const;
  // The value of an account's key as known at R.
  Result<std::optional<std::string>> ReadVersion(int partition, const std::string& key, Millis known_at) const;
  // The answers, one per row of Questions() (ledger/queries/questions.h).
  friend const std::vector<Question>& Questions();
  Result<Json> AskEntitlement(const Query& q) const;
  Result<Json> AskIntake(const Query& q) const;
  Result<Json> AskCase(const Query& q) const;
  Result<Json> AskPortal(const Query& q) const;
  Result<Json> AskList(const Query& q) const;

  const ProjectionStore* store_;
  ListBounds list_bounds_;
  mutable Mutex reference_mu_;
  std::shared_ptr<const ReferenceData> reference_ LEDGER_GUARDED_BY(reference_mu_) =
      std::make_shared<ReferenceData>();
  // Of ledger.reference when reference_ was loaded.
  std::string reference_offsets_ LEDGER_GUARDED_BY(reference_mu_);
  bool reference_loaded_ LEDGER_GUARDED_BY(reference_mu_) = false;
};

}  // namespace ledger
