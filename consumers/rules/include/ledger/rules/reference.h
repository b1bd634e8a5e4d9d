// Reference data (product lifecycles, the service-level table, the language table, the
// support-extension programme, policies) as an in-memory snapshot, asked bitemporally:
// the fact in effect at valid time T (latest effective_at <= T) among the records the
// ledger held at record time R (recorded_at <= R). A change takes effect from its
// effective time, never before, and is not known before it arrived.
//
// Also business hours: the response-target clock for business-hours coverage.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "ledger/base/status.h"
#include "ledger/base/time.h"
#include "ledger/schema/event_codec.h"

namespace ledger {

class ProjectionStore;

// Where a reference record came from (for explain).
struct ReferenceSource {
  std::string key;  // its key in ledger.reference
  int partition = 0;
  int64_t offset = 0;
  Millis effective_at = 0;
  Millis recorded_at = 0;
};

struct LifecycleFact {
  Millis released_at = 0;
  Millis end_of_standard_support_at = kForever;
  Millis end_of_support_life_at = kForever;
  ReferenceSource source;
};
struct ServiceLevelFact {
  int coverage = 0;  // ledger.fb.Coverage
  int response_minutes = 0;
  bool named_account_manager = false;
  ReferenceSource source;
};
struct LanguageFact {
  std::vector<std::string> languages;
  std::string time_zone;  // IANA name, e.g. "Europe/Berlin"
  ReferenceSource source;
};
struct ProgrammeFact {
  Millis available_until_at = kForever;
  ReferenceSource source;
};
struct PolicyFact {
  std::string value;
  ReferenceSource source;
};

// Policy names the rules read.
inline constexpr const char* kGracePeriodPolicy = "agreement.grace_period_days";
inline constexpr const char* kRemoteTermsPolicy = "remote_access.terms_version";

// Immutable after loading; safe to share between threads for reading.
class ReferenceData {
 public:
  // Every reference record in the store's "reference" column family.
  static Result<ReferenceData> Load(const ProjectionStore& store);

  // Adds one verified reference envelope (what Load does per record).
  void Add(const fb::Envelope& e, const ReferenceSource& where);

  const LifecycleFact* Lifecycle(const std::string& product, const std::string& version, Millis t,
                                 Millis r) const;
  // The versions of `product` with a lifecycle in effect at t as recorded by r, in order.
  std::vector<std::string> Versions(const std::string& product, Millis t, Millis r) const;
  const ServiceLevelFact* ServiceLevel(int offering, int severity, Millis t, Millis r) const;
  const LanguageFact* Languages(const std::string& region, Millis t, Millis r) const;
  const ProgrammeFact* Programme(const std::string& product, const std::string& version, Millis t,
                                 Millis r) const;
  const PolicyFact* Policy(const std::string& name, Millis t, Millis r) const;

  size_t size() const { return records_; }

 private:
  template <typename F>
  using Table = std::map<std::string, std::vector<F>>;  // entity key -> its versions
  Table<LifecycleFact> lifecycles_;
  std::map<std::pair<int, int>, std::vector<ServiceLevelFact>> service_levels_;  // (offering, severity)
  Table<LanguageFact> languages_;
  Table<ProgrammeFact> programmes_;
  Table<PolicyFact> policies_;
  size_t records_ = 0;
};

// The value of a stored reference record: a 24-byte header (recorded_at, partition,
// offset, each 8 bytes big-endian) then the envelope as received.
std::string EncodeReferenceValue(Millis recorded_at, int partition, int64_t offset,
                                 std::string_view envelope);
struct ReferenceValue {
  Millis recorded_at = 0;
  int partition = 0;
  int64_t offset = 0;
  std::string_view envelope;
};
std::optional<ReferenceValue> DecodeReferenceValue(std::string_view value);

// Adds `minutes` of business time (08:00-18:00 local, Monday to Friday) in `time_zone`
// to `start`. Fails for an unknown time zone.
Result<Millis> AddBusinessMinutes(Millis start, int minutes, const std::string& time_zone);

}  // namespace ledger
