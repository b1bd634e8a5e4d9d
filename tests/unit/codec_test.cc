// The JSON form of every event type round-trips through FlatBuffers; bad lines are
// rejected with reasons. The examples come from schema/README.md, so the documentation
// is tested too.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "ledger/schema/event_codec.h"
#include "synthetic.h"

#ifndef LEDGER_SOURCE_DIR
#error "LEDGER_SOURCE_DIR must be defined"
#endif

namespace ledger {
namespace {

using Json = nlohmann::json;
constexpr Millis kNow = 1764547200000;  // 2025-12-01

std::vector<std::string> ReadmeExamples() {
  std::ifstream in(std::string(LEDGER_SOURCE_DIR) + "/schema/README.md");
  std::vector<std::string> out;
  std::string line;
  bool in_json = false;
  while (std::getline(in, line)) {
    if (line == "```json") {
      in_json = true;
    } else if (line == "```") {
      in_json = false;
    } else if (in_json) {
      out.push_back(line);
    }
  }
  return out;
}

// Every field of `expected` is in `actual` with an equal value (times compared as
// instants, since "2025-01-01" comes back as "2025-01-01T00:00:00Z").
void ExpectContains(const Json& expected, const Json& actual, const std::string& path) {
  if (expected.is_object()) {
    ASSERT_TRUE(actual.is_object()) << path;
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      ASSERT_TRUE(actual.contains(it.key())) << path << "." << it.key() << " lost";
      ExpectContains(*it, actual[it.key()], path + "." + it.key());
    }
  } else if (expected.is_array()) {
    ASSERT_EQ(expected.size(), actual.size()) << path;
    for (size_t i = 0; i < expected.size(); ++i) ExpectContains(expected[i], actual[i], path);
  } else if (expected.is_string() && path.size() > 3 && path.substr(path.size() - 3) == "_at") {
    EXPECT_EQ(*ParseTime(expected.get<std::string>()), *ParseTime(actual.get<std::string>())) << path;
  } else {
    EXPECT_EQ(expected, actual) << path;
  }
}

TEST(EventCodec, EveryEventTypeRoundTripsFromTheDocumentedExamples) {
  auto codec = EventCodec::Create();
  ASSERT_TRUE(codec.ok()) << codec.status().message();
  const auto examples = ReadmeExamples();
  std::set<std::string> covered;
  for (const auto& line : examples) {
    SCOPED_TRACE(line);
    auto encoded = (*codec)->FromJson(line, kNow);
    ASSERT_TRUE(encoded.ok()) << encoded.status().message();
    auto envelope = VerifyEnvelope(encoded->bytes.data(), encoded->bytes.size());
    ASSERT_TRUE(envelope.ok()) << envelope.status().message();
    EXPECT_EQ(EventTypeName((*envelope)->event_type()), encoded->type);
    EXPECT_EQ((*envelope)->schema_version(), kSchemaVersion);

    auto decoded = (*codec)->ToJson(encoded->bytes.data(), encoded->bytes.size());
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    ExpectContains(Json::parse(line), Json::parse(*decoded), "");

    // The decoded form encodes again to the same event.
    auto again = (*codec)->FromJson(*decoded, kNow + 1);
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(*(*codec)->ToJson(again->bytes.data(), again->bytes.size()), *decoded);
    covered.insert(encoded->type);

    if (IsReferenceEvent((*envelope)->event_type())) {
      EXPECT_EQ(encoded->topic, kReferenceTopic);
      EXPECT_NE(encoded->key.find('@'), std::string::npos) << encoded->key;
    } else {
      EXPECT_EQ(encoded->topic, kEventsTopic);
      EXPECT_EQ(encoded->key, encoded->account_id);
    }
  }
  for (int i = 1; i <= static_cast<int>(fb::Event::MAX); ++i) {
    EXPECT_TRUE(covered.count(fb::EnumNamesEvent()[i]))
        << fb::EnumNamesEvent()[i] << " has no example in schema/README.md";
  }
}

TEST(EventCodec, FillsMissingIdAndTime) {
  auto codec = EventCodec::Create();
  auto e = (*codec)->FromJson(R"({"type":"AccountOpened","account_id":"A-1","data":{"name":"A"}})", kNow);
  ASSERT_TRUE(e.ok()) << e.status().message();
  auto env = VerifyEnvelope(e->bytes.data(), e->bytes.size());
  EXPECT_EQ((*env)->occurred_at(), kNow);
  EXPECT_EQ(e->event_id[6] >> 4, 7);  // a UUIDv7
}

struct BadLine {
  const char* json;
  const char* reason;  // a part of the expected message
};

class RejectedLines : public testing::TestWithParam<BadLine> {};

TEST_P(RejectedLines, NameTheProblem) {
  auto codec = EventCodec::Create();
  auto e = (*codec)->FromJson(GetParam().json, kNow);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find(GetParam().reason), std::string::npos)
      << "message was: " << e.status().message();
  // The codec stays usable after a rejection.
  EXPECT_TRUE((*codec)->FromJson(R"({"type":"AccountClosed","account_id":"A"})", kNow).ok());
}

INSTANTIATE_TEST_SUITE_P(
    Codec, RejectedLines,
    testing::Values(
        BadLine{R"({"type":"AccountOpened", "account_id": )", "not valid JSON"},
        BadLine{R"([1,2])", "expected a JSON object"},
        BadLine{R"({"account_id":"A","data":{}})", "missing field 'type'"},
        BadLine{R"({"type":"AccountExploded","account_id":"A"})", "unknown event type 'AccountExploded'"},
        BadLine{R"({"type":"AccountOpened","data":{"name":"A"}})", "missing field 'account_id'"},
        BadLine{R"({"type":"AccountOpened","account_id":"","data":{"name":"A"}})", "account_id: must be"},
        BadLine{R"({"type":"AccountOpened","account_id":"A","colour":"red","data":{"name":"A"}})", "unknown field 'colour'"},
        BadLine{R"({"type":"AccountOpened","account_id":"A","data":{"name":"A","nmae":"B"}})", "unknown field: nmae"},
        BadLine{R"({"type":"AccountOpened","account_id":"A","data":{}})", "required field is missing: name"},
        BadLine{R"({"type":"AgreementRenewed","account_id":"A","data":{"agreement_id":"G","ends_at":"2025-02-30"}})", "data.ends_at: '2025-02-30' is not a valid time: day 30"},
        BadLine{R"({"type":"AgreementRenewed","account_id":"A","data":{"agreement_id":"G","ends_at":1234}})", "data.ends_at: expected an RFC 3339"},
        BadLine{R"({"type":"AgreementPurchased","account_id":"A","data":{"agreement_id":"G","offering":"Platinum"}})", "Platinum"},
        BadLine{R"({"type":"CaseOpened","account_id":"A","data":{"case_id":"C","contact_id":"X","product":"p","severity":"high"}})", "\"severity\":\"high"},
        BadLine{R"({"type":"AccountOpened","account_id":"A","occurred_at":"yesterday","data":{"name":"A"}})", "occurred_at: 'yesterday' is not a valid time"},
        BadLine{R"({"type":"AccountOpened","account_id":"A","event_id":"42","data":{"name":"A"}})", "event_id: '42' is not a UUID"},
        BadLine{R"({"type":"PolicySet","account_id":"A","data":{"name":"grace_period_days"}})", "reference data (PolicySet) has no account"}));

TEST(VerifyEnvelope, RejectsGarbageAndTruncation) {
  EXPECT_FALSE(VerifyEnvelope(nullptr, 0).ok());
  std::string junk(64, '\x7f');
  EXPECT_FALSE(VerifyEnvelope(junk.data(), junk.size()).ok());
  auto codec = EventCodec::Create();
  auto e = (*codec)->FromJson(ReadmeExamples().at(11), kNow);  // an AgreementPurchased
  ASSERT_TRUE(e.ok());
  for (size_t cut = 0; cut < e->bytes.size(); cut += 7) {
    EXPECT_FALSE(VerifyEnvelope(e->bytes.data(), cut).ok()) << "truncated to " << cut;
  }
}

TEST(VerifyEnvelope, AnUnknownEventTypeIsNamedNotMisread) {
  const std::string bytes = test_support::FutureEnvelope(200);
  auto e = VerifyEnvelope(bytes.data(), bytes.size());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "unknown event type 200 (schema version 2)");
  const std::string known = test_support::FutureEnvelope(static_cast<uint8_t>(fb::Event::AccountClosed));
  EXPECT_TRUE(VerifyEnvelope(known.data(), known.size()).ok());
}

TEST(VerifyEnvelope, RejectsStringsThatAreNotUtf8NamingTheField) {
  const std::string bytes = test_support::HandmadeEnvelope(
      static_cast<uint8_t>(fb::Event::AccountClosed), "sam\x9b", kSchemaVersion);
  auto e = VerifyEnvelope(bytes.data(), bytes.size());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "AccountClosed: field source is not valid UTF-8");
}

TEST(VerifyEnvelope, RejectsTimesOutsideTheYearsItCanWrite) {
  flatbuffers::FlatBufferBuilder fbb;
  auto id = fbb.CreateString("G");
  auto renewed = fb::CreateAgreementRenewed(fbb, id, std::numeric_limits<int64_t>::min());
  auto account = fbb.CreateString("A");
  const UuidBytes raw = NewUuidV7(1);
  fb::Uuid uuid(flatbuffers::span<const uint8_t, 16>(raw.data(), 16));
  fb::EnvelopeBuilder b(fbb);
  b.add_event_id(&uuid);
  b.add_account_id(account);
  b.add_event_type(fb::Event::AgreementRenewed);
  b.add_event(renewed.Union());
  fbb.Finish(b.Finish(), fb::EnvelopeIdentifier());
  auto verified = VerifyEnvelope(fbb.GetBufferPointer(), fbb.GetSize());
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.status().message(),
            "AgreementRenewed: field ends_at holds -9223372036854775808, not a time between years "
            "0000 and 9999");
}

}  // namespace
}  // namespace ledger
