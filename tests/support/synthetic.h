// A deterministic synthetic event stream (same seed, same lines) in the documented JSON
// form: accounts opened first, then agreements, renewals, co-terms, line changes,
// terminations, grants and extensions, contacts, consents, remote sessions, cases (opened,
// acknowledged, resolved, closed), escalations and portal users in plausible proportions.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::test_support {

struct SyntheticOptions {
  std::string prefix = "SYN";  // account ids are <prefix>-<n>
  int accounts = 1000;
  uint64_t seed = 1;
  // At most this many agreements, grants, extensions and consents per account (0: no
  // limit); past it, a roll for one of those opens a case, as a large account's history
  // grows mostly by its cases.
  int max_facts = 0;
};

class SyntheticStream {
 public:
  explicit SyntheticStream(SyntheticOptions options);
  // The next event as one JSON line.
  std::string Next();
  uint64_t produced() const { return produced_; }

  // The products the stream sells.
  static const std::vector<std::string>& Products();

 private:
  struct Agreement {
    std::string id;
    int64_t end_day;  // days since epoch, exclusive
  };
  struct Account {
    std::string id;
    std::vector<Agreement> agreements;
    int cases = 0;
    int escalations = 0;
    int escalation_level = 0;
    int facts = 0;
    bool contact = false;
    bool portal_user = false;
  };
  std::string Line(const std::string& type, const Account& a, const std::string& data);
  std::string Day(int64_t day) const;

  SyntheticOptions options_;
  std::mt19937_64 rng_;
  std::vector<Account> accounts_;
  uint64_t produced_ = 0;
  static constexpr int64_t kLastDay = 20634;  // 2026-06-30
  int64_t clock_day_ = 19723;                 // 2024-01-01
};

// Envelope bytes built by hand, as another producer might: event type `type` (which this
// build may not know) with an AccountClosed table, the given source and schema version.
std::string HandmadeEnvelope(uint8_t type, std::string_view source = "", uint16_t schema_version = 2);

// An envelope as a newer schema writes it: event type `type`, schema version 2.
inline std::string FutureEnvelope(uint8_t type) { return HandmadeEnvelope(type); }

}  // namespace ledger::test_support
