// ledger_bench: publishes synthetic events to a broker and projects them, printing in
// one run: publish events/s, project events/s, the events/s of a plain consume-only loop
// over the same topic (the ceiling), and the latency of in-process entitlement queries
// on the resulting store.
//
// Usage: ledger_bench --brokers HOST:PORT [--events 1000000] [--accounts 20000] [--dir D]
//                     [--ingest-rate 5000] [--ingest-warmup 60] [--out-of-order 0.25]
//                     [--newest-first] [--facts-per-account N] [--skip-queries]
//        ledger_bench --queries-only [--accounts 20000] [--dir D]   (no broker: the
//        questions alone, on the store a full run left in D)
//        ledger_bench --consume-only --brokers HOST:PORT   (the ceiling alone: read
//        ledger.events to its end as a plain consumer; events/s and CPU seconds)
// Meant for a broker of its own (tests/bench/run_bench.sh starts one): it publishes into
// ledger.events.
#include <librdkafka/rdkafkacpp.h>
#include <rocksdb/env.h>
#include <sys/resource.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ledger/producers/publisher.h"
#include "ledger/projector/projector.h"
#include "ledger/queries/ledger_view.h"
#include "ledger/schema/event_codec.h"
#include "ledger/storage/idle_compactor.h"
#include "ledger/storage/keys.h"
#include "synthetic.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU seconds used so far by the process (RUSAGE_SELF) or the calling thread.
double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

struct Args {
  std::string brokers = "127.0.0.1:9092";
  long events = 1000000;
  int accounts = 20000;
  std::string dir = "/tmp/ledger-bench-store";
  bool queries_only = false;  // only step 5, on the store a previous run left in --dir
  int ingest_rate = 5000;     // step 6: events/s published while answering (0: skip)
  int ingest_warmup = 60;     // step 6: seconds of ingest before the answers are timed
  // The share of events delivered out of business order: each such event changes places
  // with its account's event before it (so arrives before one that occurred earlier).
  double out_of_order = 0;
  // Every event published in reverse business-time order (a backfill, newest first).
  bool newest_first = false;
  bool skip_queries = false;  // stop after the projection
  bool consume_only = false;  // only the ceiling: read ledger.events to its end
  int facts_per_account = 0;  // SyntheticOptions::max_facts
};

// The resident set size of this process now, in bytes.
uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// A plain consumer-group member reading ledger.events to the end, touching every byte:
// what any consumer can do at best with this broker, topic and librdkafka.
uint64_t ConsumeOnly(const ledger::KafkaSettings& kafka, uint64_t expected) {
  auto conf = ledger::MakeKafkaConf(kafka, {{"group.id", "bench-consume-" + std::to_string(::getpid())},
                                            {"enable.auto.commit", "false"},
                                            {"auto.offset.reset", "earliest"}},
                                    // the projector's fetch settings, for a fair ceiling
                                    {{"max.partition.fetch.bytes", "10485760"},
                                     {"queued.min.messages", "1000000"}});
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf->get(), err));
  c->subscribe({std::string(ledger::kEventsTopic)});
  uint64_t n = 0, checksum = 0;
  while (n < expected) {
    std::unique_ptr<RdKafka::Message> m(c->consume(1000));
    if (m->err() == RdKafka::ERR_NO_ERROR) {
      ++n;
      const auto* p = static_cast<const unsigned char*>(m->payload());
      for (size_t i = 0; i < m->len(); i += 64) checksum += p[i];
    }
  }
  c->close();
  return checksum;
}

// Messages in ledger.events (the sum of the partitions' high watermarks).
uint64_t TopicSize(const ledger::KafkaSettings& kafka) {
  auto conf = ledger::MakeKafkaConf(kafka, {});
  std::string err;
  std::unique_ptr<RdKafka::Producer> h(RdKafka::Producer::create(conf->get(), err));
  RdKafka::Metadata* raw = nullptr;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(h.get(), std::string(ledger::kEventsTopic), nullptr, err));
  if (h->metadata(false, topic.get(), &raw, 10000) != RdKafka::ERR_NO_ERROR) return 0;
  std::unique_ptr<RdKafka::Metadata> md(raw);
  uint64_t total = 0;
  for (const auto* p : *md->topics()->front()->partitions()) {
    int64_t low = 0, high = 0;
    h->query_watermark_offsets(std::string(ledger::kEventsTopic), p->id(), &low, &high, 10000);
    total += high - low;
  }
  return total;
}

// What a lookup probes besides level 1 and below, over all partitions: level-0 files
// (each may hold any key) and memtables.
std::string SortedRuns(const ledger::ProjectionStore& store) {
  int files = 0;
  uint64_t bytes = 0;
  for (int p : store.Partitions()) {
    files += store.Level0Files(p);
    bytes += store.MemtableBytes(p);
  }
  return std::to_string(files) + " level-0 files and " + std::to_string(bytes >> 20) + " MB in memtables over " +
         std::to_string(store.Partitions().size()) + " partitions";
}

// p50, p99, p99.9 and max of `us`, sorted in place, as "p50 X us, p99 Y us, ...".
std::string Percentiles(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  char line[128];
  std::snprintf(line, sizeof line, "p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us", us[us.size() / 2],
                us[us.size() * 99 / 100], us[us.size() * 999 / 1000], us.back());
  return line;
}

// The machine's own noise in the same run: a fixed piece of pure CPU work taking about
// `median_us`, timed as many times as the answers. Whatever its p99 adds over its p50
// (interrupts, the hypervisor, other processes) the machine adds to any p99 measured here.
void MeasureMachineNoise(double median_us, int samples) {
  volatile uint64_t sink = 0;
  auto work = [&sink](long steps) {
    uint64_t x = 1;
    for (long i = 0; i < steps; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    sink = sink + x;
  };
  long steps = 1000;
  for (int round = 0; round < 3; ++round) {  // calibrate the steps to the median
    std::vector<double> us;
    for (int i = 0; i < 2000; ++i) {
      auto t0 = Clock::now();
      work(steps);
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    std::nth_element(us.begin(), us.begin() + us.size() / 2, us.end());
    steps = std::max(1L, static_cast<long>(steps * median_us / us[us.size() / 2]));
  }
  std::vector<double> us;
  us.reserve(samples);
  for (int i = 0; i < samples; ++i) {
    auto t0 = Clock::now();
    work(steps);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::printf("machine noise  %s for fixed CPU work of the answers' median, as often (the same run's baseline)\n",
              Percentiles(us).c_str());
}

// An account's story (`ledger query events`: every event and anomaly, from its journal)
// for `n` random accounts, timed one by one.
void MeasureAccountEvents(const ledger::ProjectionStore* store, int accounts, int n) {
  auto view = std::move(*ledger::LedgerView::Create(store));
  std::mt19937_64 rng(5);
  std::vector<double> us;
  size_t lines = 0;
  for (int i = 0; i < n; ++i) {
    const std::string account = "BENCH-" + std::to_string(rng() % accounts);
    auto t0 = Clock::now();
    auto story = view->AccountEvents(account);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (story.ok()) lines += story->size();
  }
  std::printf("query events   %s over %d accounts (%.0f events and anomalies each; target: milliseconds)\n",
              Percentiles(us).c_str(), n, static_cast<double>(lines) / n);
}

// In-process entitlement questions on a projected store, timed one by one: twice now
// (the first pass reads what the block cache does not hold yet, the second is the steady
// state of a serving process), then as known at `midway` (a record time midway through
// publishing, which reads entity versions). With Timeline::kBySecond the first pass's
// figures are also printed for each second of it (while the store changes under it).
enum class Timeline { kNo, kBySecond };
void MeasureAnswers(const ledger::ProjectionStore* store, int accounts, ledger::Millis midway,
                    Timeline timeline = Timeline::kNo) {
  auto view = std::move(*ledger::LedgerView::Create(store));
  std::mt19937_64 rng(7);
  const auto& products = ledger::test_support::SyntheticStream::Products();
  const ledger::Millis from = *ledger::ParseTime("2024-01-01");
  constexpr int kQueries = 200000;
  std::vector<double> us;
  us.reserve(kQueries);
  std::vector<std::pair<int, double>> by_second;  // (second of the first pass, us)
  double warm_median = 0;
  // With reasons, version phase, service level for a severity, languages, consent.
  const std::pair<const char*, ledger::Millis> passes[] = {
      {"query         ", ledger::kForever}, {"query again   ", ledger::kForever}, {"query known-at", midway}};
  for (const auto& [title, known_at] : passes) {
    us.clear();
    const auto pass_start = Clock::now();
    int entitled = 0;
    size_t reasons = 0;
    for (int i = 0; i < kQueries; ++i) {
      ledger::EntitlementQuestion q{"BENCH-" + std::to_string(rng() % accounts),
                                    products[rng() % products.size()], "14." + std::to_string(rng() % 4),
                                    from + static_cast<ledger::Millis>(rng() % (3LL * 365 * 86400000)), known_at,
                                    1 + static_cast<int>(rng() % 4)};
      auto q0 = Clock::now();
      auto ans = view->Entitlement(q);
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - q0).count());
      if (timeline == Timeline::kBySecond && &title == &passes[0].first) {
        by_second.emplace_back(static_cast<int>(Seconds(pass_start)), us.back());
      }
      if (ans.ok() && ans->entitled) ++entitled;
      if (ans.ok()) reasons += ans->reasons.size();
    }
    const std::string figures = Percentiles(us);
    if (&title == &passes[1].first) warm_median = us[us.size() / 2];
    std::printf("%s %s over %d entitlement questions (%d entitled, %.1f reasons each)\n", title, figures.c_str(),
                kQueries, entitled, static_cast<double>(reasons) / kQueries);
    for (int second = 0; !by_second.empty() && second <= by_second.back().first; ++second) {
      std::vector<double> in;
      for (const auto& [s, u] : by_second) {
        if (s == second) in.push_back(u);
      }
      if (!in.empty()) std::printf("  second %d: %zu questions, %s\n", second + 1, in.size(), Percentiles(in).c_str());
    }
    by_second.clear();
  }
  MeasureMachineNoise(warm_median, kQueries);
  std::printf("(target: p99 < 50 us with reasons)\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as soon as it is measured
  Args a;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--queries-only") { a.queries_only = true; --i; continue; }
    if (k == "--newest-first") { a.newest_first = true; --i; continue; }
    if (k == "--skip-queries") { a.skip_queries = true; --i; continue; }
    if (k == "--consume-only") { a.consume_only = true; --i; continue; }
    if (i + 1 == argc) { std::cerr << "option " << k << " needs a value\n"; return 64; }
    if (k == "--brokers") a.brokers = argv[i + 1];
    else if (k == "--events") a.events = std::atol(argv[i + 1]);
    else if (k == "--accounts") a.accounts = std::atoi(argv[i + 1]);
    else if (k == "--dir") a.dir = argv[i + 1];
    else if (k == "--ingest-rate") a.ingest_rate = std::atoi(argv[i + 1]);
    else if (k == "--ingest-warmup") a.ingest_warmup = std::atoi(argv[i + 1]);
    else if (k == "--out-of-order") a.out_of_order = std::atof(argv[i + 1]);
    else if (k == "--facts-per-account") a.facts_per_account = std::atoi(argv[i + 1]);
    else { std::cerr << "unknown option " << k << "\n"; return 64; }
  }
  const std::string midway_file = a.dir + ".midway";
  if (a.queries_only) {
    auto store = ledger::ProjectionStore::Open(a.dir, ledger::ProjectionStore::Mode::kReadWrite);
    std::ifstream in(midway_file);
    ledger::Millis midway = 0;
    if (!store.ok() || !(in >> midway)) {
      std::cerr << "--queries-only needs the store and " << midway_file << " a full run left\n";
      return 1;
    }
    MeasureAnswers(store->get(), a.accounts, midway);
    return 0;
  }
  ledger::KafkaSettings kafka;
  kafka.brokers = a.brokers;
  if (a.consume_only) {
    const uint64_t in_topic = TopicSize(kafka);
    const auto t = Clock::now();
    const double cpu0 = CpuSeconds(RUSAGE_SELF);
    ConsumeOnly(kafka, in_topic);
    const double s = Seconds(t), cpu = CpuSeconds(RUSAGE_SELF) - cpu0;
    std::printf("consume-only %.0f events/s (%llu in %.2f s, group join included; %.2f CPU-s, %.2f CPU-us/event)\n",
                in_topic / s, static_cast<unsigned long long>(in_topic), s, cpu, 1e6 * cpu / in_topic);
    return 0;
  }

  // 1. Make the events (not timed as publishing).
  auto t0 = Clock::now();
  auto codec = std::move(*ledger::EventCodec::Create());
  ledger::test_support::SyntheticStream stream({"BENCH", a.accounts, 42, a.facts_per_account});
  std::vector<ledger::EncodedEvent> events;
  events.reserve(a.events);
  size_t bytes = 0;
  for (long i = 0; i < a.events; ++i) {
    auto e = codec->FromJson(stream.Next(), 0);
    if (!e.ok()) { std::cerr << e.status().message() << "\n"; return 1; }
    bytes += e->bytes.size();
    events.push_back(std::move(*e));
  }
  std::printf("generated      %ld events (%.0f bytes each on average) in %.1f s (JSON -> FlatBuffers: %.0f events/s)\n",
              a.events, static_cast<double>(bytes) / a.events, Seconds(t0), a.events / Seconds(t0));
  if (a.out_of_order > 0) {
    std::mt19937_64 rng(11);
    std::unordered_map<std::string, size_t> last;  // account -> position of its latest event
    long swapped = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      auto it = last.find(events[i].account_id);
      if (it != last.end() && std::uniform_real_distribution<double>(0, 1)(rng) < a.out_of_order) {
        std::swap(events[it->second], events[i]);  // this one now arrives before the earlier one
        ++swapped;
        last.erase(it);  // not swapped again past the next
        continue;
      }
      last[events[i].account_id] = i;
    }
    std::printf("out of order   %ld events (%.2f of all) delivered before an event of their account that occurred "
                "earlier\n", swapped, static_cast<double>(swapped) / static_cast<double>(events.size()));
  }

  if (a.newest_first) {
    std::stable_sort(events.begin(), events.end(), [](const auto& x, const auto& y) {
      return ledger::fb::GetEnvelope(x.bytes.data())->occurred_at() > ledger::fb::GetEnvelope(y.bytes.data())->occurred_at();
    });
    std::printf("newest first   every event published in reverse business-time order\n");
  }

  // 2. Publish.
  auto pub = std::move(*ledger::Publisher::Create(kafka));
  t0 = Clock::now();
  for (size_t i = 0; i < events.size(); ++i) {
    if (!pub->Send(events[i], i).ok()) { std::cerr << "send failed\n"; return 1; }
  }
  auto report = pub->Flush(std::chrono::seconds(300));
  const double publish_s = Seconds(t0);
  if (!report.failed.empty()) { std::cerr << report.failed.size() << " undelivered\n"; return 1; }
  std::printf("publish        %9.0f events/s  (%llu acknowledged in %.2f s; idempotent, acks=all)\n",
              report.delivered / publish_s, static_cast<unsigned long long>(report.delivered), publish_s);
  // Reference data the answers join: lifecycles, the service-level and language tables.
  const ledger::Millis midway = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch()).count() -
                                static_cast<ledger::Millis>(publish_s * 500);
  std::ofstream(midway_file) << midway << "\n";
  {
    std::vector<std::string> ref;
    int n = 0;
    auto add = [&](const std::string& type, const std::string& data) {
      char id[40];
      std::snprintf(id, sizeof id, "01930000-0000-7000-8fff-%012d", ++n);
      ref.push_back(R"({"type":")" + type + R"(","event_id":")" + id + R"(","occurred_at":"2024-01-01","data":)" + data + "}");
    };
    for (const auto& p : ledger::test_support::SyntheticStream::Products()) {
      for (int v = 0; v < 4; ++v) {
        add("ProductVersionLifecycle", R"({"product":")" + p + R"(","version":"14.)" + std::to_string(v) +
                                           R"(","end_of_standard_support_at":")" + std::to_string(2025 + v) +
                                           R"(-01-01","end_of_support_life_at":")" + std::to_string(2026 + v) +
                                           R"(-01-01","effective_at":"2020-01-01"})");
      }
    }
    for (const char* o : {"EssentialSupport", "BasicMaintenance", "BusinessCriticalServices"}) {
      for (int sev = 1; sev <= 4; ++sev) {
        add("ServiceLevelDefined", std::string(R"({"offering":")") + o + R"(","severity":)" + std::to_string(sev) +
                                       R"(,"coverage":"BusinessHours","response_minutes":)" + std::to_string(60 * sev) +
                                       R"(,"effective_at":"2020-01-01"})");
      }
    }
    for (const char* r : {"EMEA", "AMER", "APJ"}) {
      add("LanguageSupportDefined", std::string(R"({"region":")") + r + R"(","languages":["en","de"],"time_zone":"Europe/Berlin","effective_at":"2020-01-01"})");
    }
    for (size_t i = 0; i < ref.size(); ++i) {
      auto e = codec->FromJson(ref[i], 0);
      if (!e.ok() || !pub->Send(*e, i).ok()) { std::cerr << "reference: " << e.status().message() << "\n"; return 1; }
    }
    if (!pub->Flush(std::chrono::seconds(60)).failed.empty()) { std::cerr << "reference undelivered\n"; return 1; }
    std::printf("reference      %zu records (lifecycles, service levels, languages)\n", ref.size());
  }
  events.clear();
  events.shrink_to_fit();
  malloc_trim(0);  // the projection's resident memory, measured below, without the events'

  // 3. The ceiling: consume only, the whole topic (as the projector will).
  const uint64_t in_topic = TopicSize(kafka);
  t0 = Clock::now();
  ConsumeOnly(kafka, in_topic);
  const double consume_s = Seconds(t0);
  const double consume_rate = in_topic / consume_s;
  std::printf("consume-only   %9.0f events/s  (%llu in %.2f s, group join included)\n", consume_rate,
              static_cast<unsigned long long>(in_topic), consume_s);

  // 4. Project into a fresh store, with the compactor `ledger project` runs beside it.
  std::filesystem::remove_all(a.dir);
  auto store = std::move(*ledger::ProjectionStore::Open(a.dir, ledger::ProjectionStore::Mode::kReadWrite));
  // --compact-when-idle 30
  auto compactor = std::make_unique<ledger::IdleCompactor>(store.get(), std::chrono::seconds(30));
  ledger::ProjectorOptions po;
  po.kafka = kafka;
  po.group_id = "bench-project-" + std::to_string(::getpid());
  po.stop_when_caught_up = true;
  po.on_caught_up = [&compactor] { compactor->WriterCaughtUp(); };
  auto projector = std::move(*ledger::Projector::Create(po, store.get(), nullptr));
  std::atomic<bool> stop{false};
  const uint64_t rss_before = ResidentBytes();
  std::atomic<uint64_t> rss_peak{rss_before};
  std::atomic<bool> sampling{true};
  std::thread rss_sampler([&] {
    while (sampling.load()) {
      rss_peak.store(std::max(rss_peak.load(), ResidentBytes()));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  t0 = Clock::now();
  const double cpu0 = CpuSeconds(RUSAGE_SELF), thread_cpu0 = CpuSeconds(RUSAGE_THREAD);
  auto status = projector->Run(stop);
  const double project_s = Seconds(t0);
  sampling.store(false);
  rss_sampler.join();
  const double cpu = CpuSeconds(RUSAGE_SELF) - cpu0, thread_cpu = CpuSeconds(RUSAGE_THREAD) - thread_cpu0;
  if (!status.ok()) { std::cerr << status.message() << "\n"; return 1; }
  const auto& t = projector->totals();
  const double project_rate = t.consumed / project_s;
  std::printf("project        %9.0f events/s  (%.2f s; applied %llu, anomalies %llu, late %llu, duplicates %llu)\n",
              project_rate, project_s, static_cast<unsigned long long>(t.applied),
              static_cast<unsigned long long>(t.anomalies), static_cast<unsigned long long>(t.late),
              static_cast<unsigned long long>(t.duplicates));
  std::printf("project cpu    %.2f s in all threads (%.2f s applying, the rest writing, compacting, fetching)"
              " = %.1f CPU-us per event (target: <= 5)\n",
              cpu, thread_cpu, cpu * 1e6 / static_cast<double>(std::max<uint64_t>(1, t.consumed)));
  std::printf("project / consume-only = %.2f  (first target: >= 0.50)\n", project_rate / consume_rate);
  std::printf("project memory resident %.0f MiB at most while projecting (%.0f MiB before; target: < 1536 MiB)\n",
              static_cast<double>(rss_peak.load()) / (1 << 20), static_cast<double>(rss_before) / (1 << 20));
  {
    // The verdicts as the store holds them once every refold is done: the same events
    // give the same count whatever order they came in.
    uint64_t rejected = 0;
    for (int p : store->Partitions()) {
      if (p == ledger::keys::kReferencePartition) continue;
      (void)store->Scan(p, std::string(1, ledger::keys::kAnomalyTag), [&](std::string_view, std::string_view) {
        ++rejected;
        return true;
      });
    }
    std::printf("project result %llu rejected facts in the store (after every refold)\n",
                static_cast<unsigned long long>(rejected));
  }
  MeasureAccountEvents(store.get(), a.accounts, a.accounts == 1 ? 3 : 1000);
  if (a.skip_queries) return 0;

  // 5. In-process entitlement queries on the resulting store: at once, while the
  // compactor (told by the projector that it caught up) and RocksDB's own background
  // jobs tidy the store; then again once they are done. From here on the store serves
  // answers as `ledger project --http-listen` sets it up: its flushes and compactions
  // below the answers (StoreOptions::kBelowQueries, which is RocksDB's process-wide
  // thread pools; the projection above ran as `ledger project` without the API does).
  rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW);
  rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH);
  const auto caught_up = Clock::now();
  std::printf("right after catching up (%s; the compactor settling them meanwhile, as in `ledger project`):\n",
              SortedRuns(*store).c_str());
  MeasureAnswers(store.get(), a.accounts, midway, Timeline::kBySecond);
  auto busy = [&store] {
    int files = 0;
    for (int p : store->Partitions()) files += store->Level0Files(p);
    return files > 0 || store->IntProperty("rocksdb.num-running-compactions") > 0 ||
           store->IntProperty("rocksdb.num-running-flushes") > 0;
  };
  while (Seconds(caught_up) < 120 && (compactor->compactions() == 0 || busy())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("settled        by %.1f s after catching up (%llu partitions merged by the compactor; now %s)\n",
              Seconds(caught_up), static_cast<unsigned long long>(compactor->compactions()),
              SortedRuns(*store).c_str());
  MeasureAnswers(store.get(), a.accounts, midway);

  // 6. Answers during steady ingest: the synthetic stream goes on at --ingest-rate
  // events/s and a projector follows it (the same group and store, so it resumes where
  // step 4 stopped), set up as `ledger project --http-listen` sets itself up (the store's
  // background work and the projecting thread below the answers; the publisher, which
  // stands for the upstream systems, too). Timed after --ingest-warmup seconds, once
  // memtables and level-0 files come and go as they do under steady load.
  if (a.ingest_rate > 0) {
    projector.reset();
    compactor.reset();
    store.reset();
    ledger::StoreOptions serving;
    serving.background_priority = ledger::StoreOptions::BackgroundPriority::kBelowQueries;
    store = std::move(*ledger::ProjectionStore::Open(a.dir, ledger::ProjectionStore::Mode::kReadWrite, serving));
    compactor = std::make_unique<ledger::IdleCompactor>(store.get(), std::chrono::seconds(30));
    std::atomic<bool> stop_ingest{false};
    ledger::ProjectorOptions follow = po;
    follow.stop_when_caught_up = false;
    auto follower = std::move(*ledger::Projector::Create(follow, store.get(), nullptr));
    auto below_answers = [] { setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10); };
    std::thread projecting([&] {
      below_answers();
      if (auto s = follower->Run(stop_ingest); !s.ok()) std::cerr << "projector: " << s.message() << "\n";
    });
    std::atomic<uint64_t> sent{0};
    std::thread publishing([&] {
      below_answers();
      const int per_tick = std::max(1, a.ingest_rate / 100);
      for (auto tick = Clock::now(); !stop_ingest.load(); std::this_thread::sleep_until(tick)) {
        tick += std::chrono::milliseconds(10);
        for (int i = 0; i < per_tick; ++i) {
          auto e = codec->FromJson(stream.Next(), 0);
          if (!e.ok() || !pub->Send(*e, ++sent).ok()) { std::cerr << "ingest: send failed\n"; return; }
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::seconds(a.ingest_warmup));
    // Events projected so far: the sum of the stored offsets (totals() is the projector
    // thread's own).
    auto projected = [&store] {
      int64_t n = 0;
      for (int p : store->Partitions()) {
        if (auto next = store->NextOffset(p); next.ok() && next->has_value()) n += **next;
      }
      return n;
    };
    const uint64_t sent_before = sent;
    const int64_t projected_before = projected();
    t0 = Clock::now();
    std::printf("during ingest  of %d events/s, after %d s of it (%s):\n", a.ingest_rate, a.ingest_warmup,
                SortedRuns(*store).c_str());
    MeasureAnswers(store.get(), a.accounts, midway);
    const double measured_s = Seconds(t0);
    std::printf("(meanwhile %.0f events/s published and %.0f projected; now %s)\n", (sent - sent_before) / measured_s,
                (projected() - projected_before) / measured_s, SortedRuns(*store).c_str());
    stop_ingest = true;
    publishing.join();
    projecting.join();
    if (!pub->Flush(std::chrono::seconds(30)).failed.empty()) std::cerr << "ingest: some events undelivered\n";
  }
  return 0;
}
