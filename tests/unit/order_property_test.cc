// The invariant of DESIGN.md "Determinism and time", as properties over random account
// histories (every event family, ids drawn from small pools so that events meet and
// conflict), each delivered in several random orders to ledgers of their own (the real
// rules, a real store on disk, the real LedgerView):
// 1. Once the same events are recorded, every question at many valid times gets the same
//    answer as from the delivery in business-time order, whatever the order of arrival.
// 2. The answer as known at R is the answer of a fresh ledger that received only the
//    events recorded by R.
// Seeded: a failure names its seed. LEDGER_PROPERTY_SEEDS=N runs N seeds (default 4).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "store_ledger.h"

namespace ledger {
namespace {

using test_support::StoreLedger;

constexpr Millis kDay = 86400000;
const Millis kStart = *ParseTime("2024-06-01");
constexpr int kDays = 730;

struct Event {
  Millis occurred_at;
  std::string line;
};

// One account's random history: an opening (not always first, sometimes twice), then
// events of every family about a few agreements, grants, contacts, consents, sessions,
// cases, escalations and portal users.
class HistoryGenerator {
 public:
  HistoryGenerator(uint64_t seed, std::string account) : rng_(seed), account_(std::move(account)), id_base_(seed) {}

  std::vector<Event> Generate(int events) {
    std::vector<Event> out;
    out.push_back(Make("AccountOpened", R"({"name":"N","region":"EMEA"})", Time(0, 120)));
    if (Chance(0.2)) out.push_back(Make("AccountOpened", R"({"name":"Again"})", Time(0, kDays)));
    for (int i = 0; i < events; ++i) out.push_back(Random());
    return out;
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<>(0, 1)(rng_) < p; }
  int Pick(int n) { return std::uniform_int_distribution<>(0, n - 1)(rng_); }
  std::string Id(const char* prefix, int n) { return std::string(prefix) + std::to_string(1 + Pick(n)); }
  // A time on a random day in [from, to) days after the start, at a random minute: no two
  // events of an account share a millisecond (then business order alone orders them).
  Millis Time(int from, int to) {
    for (;;) {
      const Millis t = kStart + (from + Pick(to - from)) * kDay + Pick(24 * 60) * 60000 + Pick(60) * 1000;
      if (used_.insert(t).second) return t;
    }
  }
  std::string Day(Millis t) { return FormatTime(t); }
  std::string Product() { return Id("p-", 2); }

  Event Make(const std::string& type, const std::string& data, Millis at) {
    char id[48];  // unique across generators: another event under a used id would be refused
    std::snprintf(id, sizeof id, "0193%04x-0000-7000-8000-%012llu", static_cast<unsigned>(id_base_ % 65536),
                  static_cast<unsigned long long>(++ids_));
    return {at, R"({"type":")" + type + R"(","account_id":")" + account_ + R"(","event_id":")" + id +
                    R"(","occurred_at":")" + FormatTime(at) + R"(","data":)" + data + "}"};
  }

  Event Random() {
    const Millis at = Time(0, kDays);
    const Millis a = kStart + Pick(kDays) * kDay, b = a + (30 + Pick(400)) * kDay;
    const std::string offering = std::vector<std::string>{"EssentialSupport", "BasicMaintenance",
                                                          "BusinessCriticalServices"}[Pick(3)];
    const std::string level = std::vector<std::string>{"DutyManager", "AdvancedLine", "BackLine",
                                                       "ProductEngineering", "VirtualTeam"}[Pick(5)];
    switch (Pick(37)) {
      case 0: return Make("AccountSuspended", R"({"reason":"unpaid"})", at);
      case 1: return Make("AccountReactivated", R"({"reason":"paid"})", at);
      case 2:  // rarely: a closed account answers little
        if (Chance(0.3)) return Make("AccountClosed", R"({"reason":"churned"})", at);
        return Make("ContactDesignated", R"({"contact_id":")" + Id("C-", 2) + R"(","name":"Ada"})", at);
      case 3: return Make("PortalUserCreated", R"({"user_id":")" + Id("U-", 2) + R"(","email":"u@x.example"})", at);
      case 4: return Make("PortalUserActivated", R"({"user_id":")" + Id("U-", 2) + R"("})", at);
      case 5: return Make("PortalPasswordReset", R"({"user_id":")" + Id("U-", 2) + R"("})", at);
      case 6: return Make("PortalUserLocked", R"({"user_id":")" + Id("U-", 2) + R"(","reason":"attempts"})", at);
      case 7: return Make("PortalUserUnlocked", R"({"user_id":")" + Id("U-", 2) + R"("})", at);
      case 8:
      case 9: return Make("ContactDesignated", R"({"contact_id":")" + Id("C-", 2) + R"(","name":"Ada"})", at);
      case 10: return Make("ContactRemoved", R"({"contact_id":")" + Id("C-", 2) + R"(","reason":"left"})", at);
      case 11:
      case 12:
        return Make("AgreementPurchased",
                    R"({"agreement_id":")" + Id("AG-", 3) + R"(","offering":")" + offering + R"(","starts_at":")" +
                        Day(a) + R"(","ends_at":")" + Day(b) + R"(","lines":[{"line_id":"L1","product":")" +
                        Product() + R"("}]})",
                    at);
      case 13: return Make("AgreementRenewed", R"({"agreement_id":")" + Id("AG-", 3) + R"(","ends_at":")" + Day(b) + R"("})", at);
      case 14:
        return Make("AgreementCoTermed", R"({"agreement_id":")" + Id("AG-", 3) + R"(","ends_at":")" + Day(b) +
                                             R"(","co_term_with":")" + Id("AG-", 3) + R"("})",
                    at);
      case 15:
        return Make("AgreementTerminated", R"({"agreement_id":")" + Id("AG-", 3) + R"(","effective_at":")" + Day(a) +
                                               R"(","reason":"merger"})",
                    at);
      case 16: return Make("AgreementReinstated", R"({"agreement_id":")" + Id("AG-", 3) + R"(","reason":"undo"})", at);
      case 17:
        return Make("AgreementLineAdded", R"({"agreement_id":")" + Id("AG-", 3) + R"(","line":{"line_id":")" +
                                              Id("L", 2) + R"(","product":")" + Product() + R"("}})",
                    at);
      case 18:
        return Make("AgreementLineRemoved", R"({"agreement_id":")" + Id("AG-", 3) + R"(","line_id":")" + Id("L", 2) +
                                                R"(","effective_at":")" + Day(a) + R"("})",
                    at);
      case 19:
        return Make("SupportExtensionPurchased", R"({"extension_id":")" + Id("EXT-", 2) + R"(","product":")" + Product() +
                                                     R"(","version":"10","starts_at":")" + Day(a) + R"(","ends_at":")" +
                                                     Day(b) + R"("})",
                    at);
      case 20:
        return Make("CourtesyGranted", R"({"grant_id":")" + Id("GR-", 2) + R"(","product":")" + Product() +
                                           R"(","starts_at":")" + Day(a) + R"(","ends_at":")" + Day(b) +
                                           R"(","reason":"goodwill","granted_by":"am"})",
                    at);
      case 21:
        return Make("TemporaryEntitlementGranted", R"({"grant_id":")" + Id("GR-", 2) + R"(","product":")" + Product() +
                                                       R"(","starts_at":")" + Day(a) + R"(","ends_at":")" + Day(b) +
                                                       R"(","reason":"order","order_id":"SO-1"})",
                    at);
      case 22:
        return Make("GrantRevoked", R"({"grant_id":")" + Id("GR-", 2) + R"(","effective_at":")" + Day(a) +
                                        R"(","reason":"cancelled"})",
                    at);
      case 23:
        return Make("RemoteAccessConsentGiven", R"({"consent_id":")" + Id("RC-", 2) + R"(","contact_id":")" +
                                                    Id("C-", 2) + R"(","terms_version":"v1","expires_at":")" + Day(b) +
                                                    R"("})",
                    at);
      case 24: return Make("RemoteAccessConsentRevoked", R"({"consent_id":")" + Id("RC-", 2) + R"(","reason":"review"})", at);
      case 25:
        return Make("RemoteSessionStarted", R"({"session_id":")" + Id("RS-", 2) + R"(","case_id":")" + Id("K-", 3) +
                                                R"(","engineer":"e-1","consent_id":")" + Id("RC-", 2) + R"("})",
                    at);
      case 26: return Make("RemoteSessionEnded", R"({"session_id":")" + Id("RS-", 2) + R"("})", at);
      case 27:
      case 28:
        return Make("CaseOpened", R"({"case_id":")" + Id("K-", 3) + R"(","contact_id":")" + Id("C-", 2) +
                                      R"(","product":")" + Product() + R"(","severity":)" + std::to_string(1 + Pick(4)) +
                                      "}",
                    at);
      case 29:
        return Make("CaseSeverityChanged", R"({"case_id":")" + Id("K-", 3) + R"(","severity":)" +
                                               std::to_string(1 + Pick(4)) + "}",
                    at);
      case 30: return Make("CaseAcknowledged", R"({"case_id":")" + Id("K-", 3) + R"(","engineer":"e-1"})", at);
      case 31: return Make("CaseResolved", R"({"case_id":")" + Id("K-", 3) + R"(","resolution":"fixed"})", at);
      case 32: return Make("CaseClosed", R"({"case_id":")" + Id("K-", 3) + R"("})", at);
      case 33: return Make("CaseReopened", R"({"case_id":")" + Id("K-", 3) + R"(","reason":"again"})", at);
      case 34: return Make("ContinuousEffortsRequested", R"({"case_id":")" + Id("K-", 3) + R"("})", at);
      case 35:
        return Make("EscalationRequested", R"({"escalation_id":")" + Id("X-", 2) + R"(","case_id":")" + Id("K-", 3) +
                                               R"(","level":")" + level + R"("})",
                    at);
      default:
        switch (Pick(3)) {
          case 0: return Make("EscalationLevelRaised", R"({"escalation_id":")" + Id("X-", 2) + R"(","level":")" + level + R"("})", at);
          case 1: return Make("EscalationManagerAssigned", R"({"escalation_id":")" + Id("X-", 2) + R"(","manager":"dm"})", at);
          default: return Make("EscalationClosed", R"({"escalation_id":")" + Id("X-", 2) + R"(","outcome":"done"})", at);
        }
    }
  }

  std::mt19937_64 rng_;
  std::string account_;
  std::set<Millis> used_;
  uint64_t id_base_;
  uint64_t ids_ = 0;
};

// Drops what depends on where and when an event was logged rather than on what it says
// (log positions, record times), and orders list items, whose order follows record time.
void Normalize(Json& j) {
  if (j.is_object()) {
    for (const char* k : {"offset", "partition", "recorded_at", "known_at"}) j.erase(k);
    for (auto& [k, v] : j.items()) Normalize(v);
    if (j.contains("items") && j["items"].is_array()) {
      auto& items = j["items"];
      std::sort(items.begin(), items.end(), [](const Json& a, const Json& b) { return a.dump() < b.dump(); });
    }
  } else if (j.is_array()) {
    for (auto& v : j) Normalize(v);
  }
}

struct Question {
  std::string name;
  std::map<std::string, std::string> params;
};

// Every question about the accounts at valid times across the histories (and after).
std::vector<Question> Questions(const std::vector<std::string>& accounts) {
  std::vector<Question> out;
  for (int d = 0; d <= kDays + 120; d += 83) {
    const std::string at = FormatTime(kStart + d * kDay + 12 * 3600000);
    for (const auto& a : accounts) {
      for (const char* p : {"p-1", "p-2"}) {
        out.push_back({"entitlement", {{"account", a}, {"product", p}, {"at", at}}});
        out.push_back({"entitlement", {{"account", a}, {"product", p}, {"version", "10"}, {"severity", "1"}, {"at", at}}});
        out.push_back({"intake", {{"account", a}, {"product", p}, {"contact", "C-1"}, {"at", at}}});
      }
      for (const char* k : {"K-1", "K-2", "K-3"}) out.push_back({"case", {{"account", a}, {"case", k}, {"at", at}}});
      out.push_back({"portal", {{"account", a}, {"user", "U-1"}, {"at", at},
                                {"handbook", "Essential Support and Basic Maintenance Handbook"}}});
      for (const char* list : {"open-cases", "breached-cases", "anomalies", "agreements-lapsing", "grants-expiring",
                               "open-escalations", "sessions-without-consent"}) {
        out.push_back({"list", {{"list", list}, {"account", a}, {"at", at}}});
      }
    }
  }
  return out;
}

std::string AnswerTo(StoreLedger& l, const Question& q, Millis known_at = kForever) {
  auto params = q.params;
  if (known_at != kForever) params["known_at"] = FormatTime(known_at);
  auto answer = l.TryAsk(q.name, params);
  if (!answer.ok()) {
    std::string message = answer.status().message();
    if (const size_t at = message.find(" as known at "); at != std::string::npos) message.erase(at);
    return "error: " + message;
  }
  Normalize(*answer);
  return answer->dump();
}

void AddReference(StoreLedger& l) {
  for (const char* offering : {"EssentialSupport", "BasicMaintenance", "BusinessCriticalServices"}) {
    for (int severity = 1; severity <= 4; ++severity) {
      l.Reference("ServiceLevelDefined", std::string(R"({"offering":")") + offering + R"(","severity":)" +
                                             std::to_string(severity) +
                                             R"(,"coverage":"TwentyFourSeven","response_minutes":)" +
                                             std::to_string(60 * severity) + R"(,"effective_at":"2024-01-01"})",
                  "2026-01-01T00:00:00Z");
    }
  }
  l.Reference("LanguageSupportDefined",
              R"({"region":"EMEA","languages":["en"],"time_zone":"Europe/Berlin","effective_at":"2024-01-01"})",
              "2026-01-01T00:00:00Z");
  l.Reference("ProductVersionLifecycle",
              R"({"product":"p-1","version":"10","released_at":"2020-01-01","end_of_standard_support_at":"2025-01-01","end_of_support_life_at":"2025-09-01","effective_at":"2020-01-01"})",
              "2026-01-01T00:00:00Z");
}

// A ledger that received `events` (the first `count`) in that order, one second apart.
std::unique_ptr<StoreLedger> Deliver(const std::string& name, const std::vector<Event>& events,
                                     size_t count = SIZE_MAX) {
  auto l = std::make_unique<StoreLedger>(name);
  AddReference(*l);
  for (size_t i = 0; i < events.size() && i < count; ++i) l->ApplyLine(events[i].line);
  return l;
}

int Seeds() {
  const char* v = std::getenv("LEDGER_PROPERTY_SEEDS");
  return v ? std::max(1, std::atoi(v)) : 4;
}

// Two accounts, <prefix><seed>-A and -B, with `events` random events each (after their
// openings), in the order they were made; their ids in `accounts` if given.
std::vector<Event> Histories(const std::string& prefix, int seed, uint64_t seed_base, int events,
                             std::vector<std::string>* accounts = nullptr) {
  std::vector<Event> out;
  uint64_t i = 0;
  for (const char* suffix : {"-A", "-B"}) {
    const std::string account = prefix + std::to_string(seed) + suffix;
    if (accounts) accounts->push_back(account);
    auto h = HistoryGenerator(seed * seed_base + i++, account).Generate(events);
    out.insert(out.end(), h.begin(), h.end());
  }
  return out;
}

TEST(OrderProperty, AnyOrderOfArrivalGivesTheAnswersOfBusinessOrder) {
  for (int seed = 1; seed <= Seeds(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (LEDGER_PROPERTY_SEEDS reruns it)");
    std::vector<std::string> accounts;
    const std::vector<Event> events = Histories("P", seed, 1000, 60, &accounts);
    std::vector<Event> in_order = events;
    std::stable_sort(in_order.begin(), in_order.end(),
                     [](const Event& a, const Event& b) { return a.occurred_at < b.occurred_at; });
    const auto questions = Questions(accounts);
    auto reference = Deliver("order-ref", in_order);
    std::vector<std::string> expected;
    for (const auto& q : questions) expected.push_back(AnswerTo(*reference, q));
    reference.reset();

    std::mt19937_64 rng(seed);
    for (int delivery = 0; delivery < 2; ++delivery) {
      std::vector<Event> shuffled = events;
      if (delivery == 0) {
        std::reverse(shuffled.begin(), shuffled.end());  // newest first, in the main
        std::stable_sort(shuffled.begin(), shuffled.end(),
                         [](const Event& a, const Event& b) { return a.occurred_at > b.occurred_at; });
      } else {
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
      }
      auto l = Deliver("order-" + std::to_string(delivery), shuffled);
      int differ = 0;
      for (size_t i = 0; i < questions.size(); ++i) {
        const std::string got = AnswerTo(*l, questions[i]);
        if (got != expected[i] && ++differ <= 3) {
          ADD_FAILURE() << (delivery == 0 ? "newest first" : "shuffled") << ": " << questions[i].name << " "
                        << Json(questions[i].params).dump() << "\n  in business order: " << expected[i]
                        << "\n  as delivered:      " << got;
        }
      }
      EXPECT_EQ(differ, 0) << "answers that differ from business order";
    }
  }
}

// Replays are byte-identical whatever the batches: a ledger that received a shuffled
// delivery one event per batch (each late event folded at once, onto the state or by
// folding the journal again) holds the same store as one that received it in batches of
// random sizes (late events folded together at the end of each).
TEST(OrderProperty, TheStoreDoesNotDependOnWhereTheBatchesEnd) {
  for (int seed = 1; seed <= Seeds(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (LEDGER_PROPERTY_SEEDS reruns it)");
    std::vector<Event> events = Histories("B", seed, 104729, 60);
    std::mt19937_64 rng(seed);
    std::shuffle(events.begin(), events.end(), rng);
    auto one_by_one = Deliver("batches-one", events);
    auto batched = std::make_unique<StoreLedger>("batches-many");
    AddReference(*batched);
    for (size_t i = 0; i < events.size();) {
      const size_t n = std::min(events.size() - i, static_cast<size_t>(1 + rng() % 40));
      std::vector<std::string> lines;
      for (size_t k = 0; k < n; ++k) lines.push_back(events[i + k].line);
      batched->ApplyBatch(lines);
      i += n;
    }
    auto a = one_by_one->store().ComputeDigest();
    auto b = batched->store().ComputeDigest();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->hex, b->hex);
    EXPECT_EQ(a->keys, b->keys);
  }
}

TEST(OrderProperty, AsKnownAtRIsTheAnswerOfALedgerThatRecordedOnlyWhatWasRecordedByR) {
  for (int seed = 1; seed <= Seeds(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (LEDGER_PROPERTY_SEEDS reruns it)");
    std::vector<std::string> accounts;
    std::vector<Event> events = Histories("Q", seed, 7919, 50, &accounts);
    std::mt19937_64 rng(seed);
    std::shuffle(events.begin(), events.end(), rng);
    auto full = Deliver("known-full", events);
    const auto questions = Questions(accounts);
    for (int cut = 0; cut < 3; ++cut) {
      const size_t count = 1 + rng() % (events.size() - 1);
      // The record time of the count-th event: the reference records come first, one
      // second apart, then each event one second after the one before.
      auto partial = Deliver("known-part", events, count);
      const Millis r = partial->last_recorded_at();
      int differ = 0;
      for (const auto& q : questions) {
        const std::string fresh = AnswerTo(*partial, q), known = AnswerTo(*full, q, r);
        if (fresh != known && ++differ <= 3) {
          ADD_FAILURE() << "after " << count << " of " << events.size() << " events: " << q.name << " "
                        << Json(q.params).dump() << "\n  fresh ledger: " << fresh << "\n  as known at:   " << known;
        }
      }
      EXPECT_EQ(differ, 0) << "answers as known at R that differ from a ledger that recorded only those events";
    }
  }
}

}  // namespace
}  // namespace ledger
