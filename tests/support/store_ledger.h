// A ledger without Kafka, for unit tests: events (in their JSON form) are applied by the
// real rules into a real ProjectionStore in a temporary directory, at record times the
// test chooses, and questions are asked through the real LedgerView.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "ledger/projector/event_step.h"
#include "ledger/queries/ledger_view.h"
#include "ledger/rules/rules.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/projection_store.h"

namespace ledger::test_support {

class StoreLedger {
 public:
  // A fresh store under the system's temporary directory, removed on destruction.
  explicit StoreLedger(const std::string& name);
  ~StoreLedger();

  // Applies one account event. `recorded_at` is the Kafka record time; empty: one
  // second after the previous event's.
  Applied Apply(const std::string& type, const std::string& account, const std::string& data,
                const std::string& occurred_at, const std::string& recorded_at = "");
  // Applies one account event given as a whole JSON line (its own event_id).
  // `occurred_at`, if given, replaces the envelope's after encoding: a time no JSON line
  // may give (years before 1971), as another producer could write it.
  Applied ApplyLine(const std::string& line, const std::string& recorded_at = "",
                    std::optional<Millis> occurred_at = std::nullopt);
  // Applies whole JSON lines as the projector does one batch: each at the next offset,
  // one second apart, into one staged batch, refolded and written at once.
  // Returns what RefoldStale reported for the batch, which it runs with `policy` and
  // `also` (accounts stale in the store).
  RefoldCounts ApplyBatch(const std::vector<std::string>& lines, const RefoldPolicy& policy = {},
                          const std::vector<std::pair<int, std::string>>& also = {});
  // Stores one reference record, as the reference follower would.
  void Reference(const std::string& type, const std::string& data, const std::string& recorded_at = "");

  // Asks a question (reference data reloaded first). Fails the test on an error
  // unless `expect_error`; then returns {"error": message}.
  Json Ask(const std::string& name, const std::map<std::string, std::string>& params,
           bool expect_error = false);
  Status AskStatus(const std::string& name, const std::map<std::string, std::string>& params);
  // The answer, or the error, as it is.
  Result<Json> TryAsk(const std::string& name, const std::map<std::string, std::string>& params);
  // The account's story (LedgerView::AccountEvents).
  Result<std::vector<Json>> AccountEvents(const std::string& account);

  Millis last_recorded_at() const { return recorded_at_; }
  ProjectionStore& store() { return *store_; }

 private:
  void ApplyBatchInto(const std::vector<std::string>& lines, const RefoldPolicy& policy,
                      const std::vector<std::pair<int, std::string>>& also, RefoldCounts* counts);  // ASSERTs need void
  Millis NextRecordTime(const std::string& recorded_at);
  std::string NextId();

  std::filesystem::path dir_;
  std::unique_ptr<EventCodec> codec_;
  std::unique_ptr<ProjectionStore> store_;
  int64_t offset_ = 0;
  int64_t reference_offset_ = 0;
  int ids_ = 0;
  Millis recorded_at_;
};

}  // namespace ledger::test_support
