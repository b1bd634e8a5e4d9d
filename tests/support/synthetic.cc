#include "synthetic.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "ledger/base/time.h"
#include "ledger/schema/event_codec.h"

namespace ledger::test_support {

const std::vector<std::string>& SyntheticStream::Products() {
  static const std::vector<std::string> kProducts = {
      "endpoint-protection", "data-loss-prevention", "web-gateway", "backup-exec",
      "email-security", "server-protection"};
  return kProducts;
}

SyntheticStream::SyntheticStream(SyntheticOptions options) : options_(std::move(options)), rng_(options_.seed) {
  accounts_.resize(options_.accounts);
  for (int i = 0; i < options_.accounts; ++i) {
    accounts_[i].id = options_.prefix + "-" + std::to_string(i);
  }
}

std::string SyntheticStream::Day(int64_t day) const { return FormatDate(day * 86400000LL); }

std::string SyntheticStream::Line(const std::string& type, const Account& a, const std::string& data) {
  // A deterministic UUIDv7-shaped id: the seed and the sequence number.
  char id[40];
  std::snprintf(id, sizeof id, "%08llx-%04x-7%03x-8%03x-%012llx",
                static_cast<unsigned long long>(options_.seed & 0xffffffff),
                static_cast<unsigned>((options_.seed >> 32) & 0xffff), 0u,
                static_cast<unsigned>(produced_ >> 48) & 0xfff,
                static_cast<unsigned long long>(produced_ & 0xffffffffffffULL));
  // From 09:00 on its day, one millisecond after the event before: no two events share a
  // business time, so the business-time order of a stream is the order it was made in.
  const int64_t occurred_at = clock_day_ * 86400000LL + 9 * 3600000LL + static_cast<int64_t>(produced_);
  ++produced_;
  std::string out = R"({"type":")" + type + R"(","event_id":")" + id + R"(","account_id":")" +
                    a.id + R"(","occurred_at":")" + FormatTime(occurred_at) +
                    R"(","source":"synthetic","data":)" + data + "}";
  return out;
}

std::string SyntheticStream::Next() {
  using nlohmann::json;
  if (produced_ < accounts_.size()) {
    const Account& a = accounts_[produced_];
    static const char* kRegions[] = {"EMEA", "AMER", "APJ"};
    return Line("AccountOpened", a,
                json{{"name", "Customer " + a.id}, {"region", kRegions[produced_ % 3]}}.dump());
  }
  // Time passes, up to kLastDay: a stream's events occur before it is published (the
  // projector takes an occurred_at far after its record time for an anomaly).
  if (rng_() % 50 == 0 && clock_day_ < kLastDay) ++clock_day_;
  Account& a = accounts_[rng_() % accounts_.size()];
  const auto& products = Products();
  const int roll = static_cast<int>(rng_() % 100);
  const bool facts_full = options_.max_facts > 0 && a.facts >= options_.max_facts;
  if (!facts_full && ((roll >= 38 && roll < 46) || roll < 14)) ++a.facts;

  if (a.agreements.empty() || (roll < 14 && !facts_full)) {  // a purchase
    static const char* kOfferings[] = {"EssentialSupport", "BasicMaintenance", "BusinessCriticalServices"};
    Agreement g{a.id + "-AG" + std::to_string(a.agreements.size() + 1), clock_day_ + 365};
    json lines = json::array();
    const int n = 1 + static_cast<int>(rng_() % 3);
    for (int i = 0; i < n; ++i) {
      lines.push_back({{"line_id", "L" + std::to_string(i + 1)},
                       {"product", products[rng_() % products.size()]},
                       {"quantity", 1 + static_cast<int>(rng_() % 500)}});
    }
    json d = {{"agreement_id", g.id}, {"offering", kOfferings[rng_() % 3]},
              {"starts_at", Day(clock_day_)}, {"ends_at", Day(g.end_day)}, {"lines", lines}};
    a.agreements.push_back(g);
    return Line("AgreementPurchased", a, d.dump());
  }
  Agreement& g = a.agreements[rng_() % a.agreements.size()];
  const std::string product = products[rng_() % products.size()];
  const std::string case_id = a.id + "-CS" + std::to_string(a.cases);
  if (roll < 26) {
    g.end_day += 365;
    return Line("AgreementRenewed", a, json{{"agreement_id", g.id}, {"ends_at", Day(g.end_day)}}.dump());
  }
  if (roll < 29) {
    g.end_day += 30;
    return Line("AgreementCoTermed", a, json{{"agreement_id", g.id}, {"ends_at", Day(g.end_day)}}.dump());
  }
  if (roll < 33) {
    return Line("AgreementLineAdded", a,
                json{{"agreement_id", g.id}, {"line", {{"line_id", "X" + std::to_string(produced_)}, {"product", product}}}}
                    .dump());
  }
  if (roll < 35) {  // sometimes rejected later (already terminated): a realistic anomaly
    return Line("AgreementTerminated", a, json{{"agreement_id", g.id}, {"reason", "churn"}}.dump());
  }
  if (roll < 38 || !a.contact) {  // the first is C0, who opens the cases; then others
    const std::string contact = a.id + "-C" + std::to_string(a.contact ? 1 + rng_() % 3 : 0);
    a.contact = true;
    return Line("ContactDesignated", a, json{{"contact_id", contact}, {"name", "Contact"}}.dump());
  }
  if (roll < 41 && !facts_full) {
    return Line("RemoteAccessConsentGiven", a,
                json{{"consent_id", "RC" + std::to_string(produced_)}, {"contact_id", a.id + "-C0"},
                     {"terms_version", "2024-06"}, {"expires_at", Day(clock_day_ + 365)}}
                    .dump());
  }
  if (roll < 44 && !facts_full) {
    const bool courtesy = rng_() % 2 == 0;
    return Line(courtesy ? "CourtesyGranted" : "TemporaryEntitlementGranted", a,
                json{{"grant_id", "GR" + std::to_string(produced_)}, {"product", product},
                     {"starts_at", Day(clock_day_)}, {"ends_at", Day(clock_day_ + 30)}, {"reason", "synthetic"}}
                    .dump());
  }
  if (roll < 46 && !facts_full) {
    return Line("SupportExtensionPurchased", a,
                json{{"extension_id", "EX" + std::to_string(produced_)}, {"product", product},
                     {"version", "14." + std::to_string(rng_() % 4)}, {"starts_at", Day(clock_day_)},
                     {"ends_at", Day(clock_day_ + 365)}}
                    .dump());
  }
  if (roll < 62 || a.cases == 0) {
    ++a.cases;
    a.escalation_level = 0;
    return Line("CaseOpened", a,
                json{{"case_id", a.id + "-CS" + std::to_string(a.cases)}, {"contact_id", a.id + "-C0"},
                     {"product", product}, {"version", "14." + std::to_string(rng_() % 4)},
                     {"severity", 1 + static_cast<int>(rng_() % 4)}, {"summary", "synthetic case"}}
                    .dump());
  }
  if (roll < 72) return Line("CaseAcknowledged", a, json{{"case_id", case_id}, {"engineer", "e1"}}.dump());
  if (roll < 80) return Line("CaseResolved", a, json{{"case_id", case_id}, {"resolution", "fixed"}}.dump());
  if (roll < 84) return Line("CaseClosed", a, json{{"case_id", case_id}}.dump());
  if (roll < 89) {
    ++a.escalations;
    a.escalation_level = 0;
    return Line("EscalationRequested", a,
                json{{"escalation_id", a.id + "-ES" + std::to_string(a.escalations)}, {"case_id", case_id},
                     {"level", "DutyManager"}}
                    .dump());
  }
  if (roll < 92 && a.escalations > 0) {
    static const char* kLevels[] = {"DutyManager", "AdvancedLine", "BackLine", "ProductEngineering"};
    a.escalation_level = std::min(a.escalation_level + 1, 3);
    return Line("EscalationLevelRaised", a,
                json{{"escalation_id", a.id + "-ES" + std::to_string(a.escalations)},
                     {"level", kLevels[a.escalation_level]}}
                    .dump());
  }
  if (roll < 96) {
    return Line("RemoteSessionStarted", a,
                json{{"session_id", "RS" + std::to_string(produced_)}, {"case_id", case_id}, {"engineer", "e1"},
                     {"consent_id", rng_() % 4 == 0 ? "" : "RC" + std::to_string(produced_ - 1 - rng_() % 1000)}}
                    .dump());
  }
  if (roll < 98) {
    const std::string type = a.portal_user ? "PortalUserActivated" : "PortalUserCreated";
    a.portal_user = true;
    json d = {{"user_id", a.id + "-U"}};
    if (type == "PortalUserCreated") d["email"] = "u@example.com";
    return Line(type, a, d.dump());
  }
  g.end_day += 365;
  return Line("AgreementRenewed", a, json{{"agreement_id", g.id}, {"ends_at", Day(g.end_day)}}.dump());
}

std::string HandmadeEnvelope(uint8_t type, std::string_view source_text, uint16_t schema_version) {
  flatbuffers::FlatBufferBuilder fbb;
  auto account = fbb.CreateString("A");
  auto source = fbb.CreateString(source_text.data(), source_text.size());
  auto reason = fbb.CreateString("from the future");
  auto event = fb::CreateAccountClosed(fbb, reason);
  const UuidBytes raw = NewUuidV7(1);
  fb::Uuid id(flatbuffers::span<const uint8_t, 16>(raw.data(), 16));
  fb::EnvelopeBuilder b(fbb);
  b.add_event_id(&id);
  b.add_account_id(account);
  if (!source_text.empty()) b.add_source(source);
  b.add_schema_version(schema_version);
  b.add_event_type(static_cast<fb::Event>(type));
  b.add_event(event.Union());
  fbb.Finish(b.Finish(), fb::EnvelopeIdentifier());
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

}  // namespace ledger::test_support
