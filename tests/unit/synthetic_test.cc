// The benchmark's synthetic stream is valid and plausible: every line encodes, and the
// real rules accept most events (a realistic few are rejected facts).
#include <gtest/gtest.h>

#include <map>

#include "ledger/rules/rules.h"
#include "ledger/schema/event_codec.h"
#include "memory_state.h"
#include "synthetic.h"

namespace ledger {
namespace {

TEST(SyntheticStream, EveryLineEncodesAndMostEventsApply) {
  auto codec = std::move(*EventCodec::Create());
  test_support::SyntheticStream stream({"SYN", 500, 3});
  test_support::MemoryState kv;
  std::map<std::string, int> types;
  int anomalies = 0;
  std::map<std::string, int> reasons;
  constexpr int kEvents = 30000;
  for (int i = 0; i < kEvents; ++i) {
    const std::string line = stream.Next();
    auto e = codec->FromJson(line, i + 1);
    ASSERT_TRUE(e.ok()) << line << ": " << e.status().message();
    auto env = VerifyEnvelope(e->bytes.data(), e->bytes.size());
    ASSERT_TRUE(env.ok());
    // Recorded after the stream's last day, as a stream published now is.
    auto applied = test_support::ApplyToMemory(kv, **env, {0, i, *ParseTime("2026-07-01") + i, 0, e->bytes});
    ASSERT_TRUE(applied.ok());
    types[e->type] += 1;
    if (applied->outcome == Outcome::kAnomaly) {
      ++anomalies;
      std::string shape;  // the reason without its ids and times
      for (char c : applied->reason) shape += std::isdigit(static_cast<unsigned char>(c)) ? '#' : c;
      reasons[e->type + ": " + shape.substr(0, 60)] += 1;
    }
  }
  EXPECT_GE(types.size(), 20u);  // a mixed stream: most event families appear
  EXPECT_GT(types["CaseOpened"], kEvents / 20);
  EXPECT_GT(types["EscalationRequested"], kEvents / 50);
  EXPECT_LT(anomalies, kEvents / 4) << "too many rejected: not a plausible stream";
  EXPECT_GT(anomalies, 0);
  for (auto& [r, n] : reasons) if (n > 300) std::cout << n << " " << r << "\n";
  std::cout << types.size() << " event types, " << anomalies << " of " << kEvents << " rejected\n";
}

}  // namespace
}  // namespace ledger
