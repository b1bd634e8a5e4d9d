// The scenario suite (tests/scenarios/README.md): each scenario is a file of events and
// expected answers, run through the real pipeline: published to the broker the CTest
// fixture started, projected by the real projector into a real store, asked through
// LedgerView (what `ledger query` and the HTTP API call).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "ledger/producers/publisher.h"
#include "ledger/projector/projector.h"
#include "ledger/queries/ledger_view.h"
#include "ledger/schema/event_codec.h"
#include "test_broker.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

// Whether `actual` has everything `expected` has: objects key by key, arrays item by item
// (`actual` may have more items), scalars equal. A key ending in "~" matches when the
// value (a string, or any string in an array) contains the expected text. Appends what
// differs to `why`.
bool Matches(const Json& expected, const Json& actual, const std::string& path, std::string* why) {
  if (expected.is_object()) {
    if (!actual.is_object()) return *why += path + ": expected an object, got " + actual.dump() + "\n", false;
    bool ok = true;
    for (const auto& [k, v] : expected.items()) {
      if (!k.empty() && k.back() == '~') {
        const std::string key = k.substr(0, k.size() - 1), text = v.get<std::string>();
        const Json& a = actual.contains(key) ? actual[key] : Json();
        bool found = a.is_string() && a.get<std::string>().find(text) != std::string::npos;
        if (a.is_array()) {
          for (const auto& item : a) found = found || (item.is_string() && item.get<std::string>().find(text) != std::string::npos);
        }
        if (!found) *why += path + "." + key + ": nothing contains \"" + text + "\" in " + a.dump() + "\n", ok = false;
      } else if (!actual.contains(k)) {
        *why += path + "." + k + ": missing (expected " + v.dump() + ")\n", ok = false;
      } else {
        ok = Matches(v, actual[k], path + "." + k, why) && ok;
      }
    }
    return ok;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() < expected.size()) {
      return *why += path + ": expected at least " + std::to_string(expected.size()) + " items, got " + actual.dump() + "\n", false;
    }
    bool ok = true;
    for (size_t i = 0; i < expected.size(); ++i) ok = Matches(expected[i], actual[i], path + "[" + std::to_string(i) + "]", why) && ok;
    return ok;
  }
  if (expected != actual) return *why += path + ": expected " + expected.dump() + ", got " + actual.dump() + "\n", false;
  return true;
}

class Scenarios : public testing::Test {
 protected:
  void SetUp() override {
    settings_.brokers = test_support::FixtureBrokers();
    ASSERT_FALSE(settings_.brokers.empty()) << "no broker: run through ctest (fixture kafka)";
    std::random_device rd;
    run_ = std::to_string(rd() % 1000000);
    dir_ = fs::temp_directory_path() / ("ledger-scenarios-" + run_);
    auto store = ProjectionStore::Open(dir_.string(), ProjectionStore::Mode::kReadWrite);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    codec_ = std::move(*EventCodec::Create());
    auto pub = Publisher::Create(settings_);
    ASSERT_TRUE(pub.ok()) << pub.status().message();
    publisher_ = std::move(*pub);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // Publishes what is pending, then projects until caught up.
  void Settle() {
    if (pending_ > 0) {
      DeliveryReport r = publisher_->Flush(std::chrono::seconds(60));
      ASSERT_TRUE(r.failed.empty()) << r.failed.front().second;
      pending_ = 0;
    }
    ProjectorOptions o;
    o.kafka = settings_;
    o.group_id = "scenarios-" + run_;
    o.stop_when_caught_up = true;
    auto p = Projector::Create(o, store_.get(), nullptr);
    ASSERT_TRUE(p.ok()) << p.status().message();
    std::atomic<bool> stop{false};
    Status s = (*p)->Run(stop);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Runs one scenario file; every failed expectation is reported with its line.
  void Run(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    int n = 0;
    std::map<std::string, std::string> marks;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty() || line[0] == '#') continue;
      const std::string where = file.filename().string() + ":" + std::to_string(n);
      Json j = Json::parse(line, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << where << ": not JSON";
      if (!j.contains("step")) {  // an event, as `ledger publish` reads it
        auto e = codec_->FromJson(line, n);
        ASSERT_TRUE(e.ok()) << where << ": " << e.status().message();
        ASSERT_TRUE(publisher_->Send(*e, ++ticket_).ok()) << where;
        ++pending_;
        continue;
      }
      Settle();
      if (HasFatalFailure()) return;
      const std::string step = j["step"];
      if (step == "mark") {
        // A record time after everything so far and before anything that follows.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        marks[j["name"]] = FormatTime(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      ASSERT_EQ(step, "ask") << where << ": unknown step";
      Query q{j["query"], {}};
      for (const auto& [k, v] : j["params"].items()) {
        std::string value = v.is_string() ? v.get<std::string>() : v.dump();
        if (!value.empty() && value[0] == '$') {
          ASSERT_TRUE(marks.count(value.substr(1))) << where << ": no mark " << value;
          value = marks[value.substr(1)];
        }
        q.params[k] = value;
      }
      auto view = LedgerView::Create(store_.get());
      ASSERT_TRUE(view.ok()) << view.status().message();
      auto answer = (*view)->Ask(q);
      ++asked_;
      if (j.contains("error")) {
        EXPECT_FALSE(answer.ok()) << where << ": expected an error, got " << answer->dump();
        if (!answer.ok()) {
          EXPECT_NE(answer.status().message().find(j["error"].get<std::string>()), std::string::npos)
              << where << ": error was: " << answer.status().message();
        }
        continue;
      }
      ASSERT_TRUE(answer.ok()) << where << ": " << answer.status().message();
      std::string why;
      EXPECT_TRUE(Matches(j["expect"], *answer, q.name, &why)) << where << ":\n" << why << "answer: " << answer->dump();
    }
  }

  KafkaSettings settings_;
  std::string run_;
  fs::path dir_;
  std::unique_ptr<ProjectionStore> store_;
  std::unique_ptr<EventCodec> codec_;
  std::unique_ptr<Publisher> publisher_;
  uint64_t ticket_ = 0;
  int pending_ = 0;
  int asked_ = 0;
};

TEST_F(Scenarios, EveryScenarioFileGetsItsExpectedAnswers) {
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(fs::path(LEDGER_SOURCE_DIR) / "tests" / "scenarios")) {
    if (f.path().extension() == ".jsonl") files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 5u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    Run(f);
    if (HasFatalFailure()) return;
  }
  std::cout << "scenarios: " << files.size() << " files, " << asked_ << " questions\n";
}

}  // namespace
}  // namespace ledger
