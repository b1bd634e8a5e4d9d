#include "ledger/projector/runtime_metrics.h"

#include <dirent.h>
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace ledger {
namespace {

prometheus::MetricFamily Gauge(const std::string& name, const std::string& help, double value,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

class RuntimeCollector : public prometheus::Collectable {
 public:
  explicit RuntimeCollector(const ProjectionStore* store) : store_(store) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    auto prop = [this](const char* name) { return static_cast<double>(store_->IntProperty(name)); };
    out.push_back(Gauge("ledger_store_sst_bytes", "Size of the store's SST files", prop("rocksdb.total-sst-files-size")));
    out.push_back(Gauge("ledger_store_live_data_bytes", "Estimated live data in the store",
                        prop("rocksdb.estimate-live-data-size")));
    out.push_back(Gauge("ledger_store_memtable_bytes", "Memory of the store's memtables",
                        prop("rocksdb.cur-size-all-mem-tables")));
    // One block cache shared by every column family.
    out.push_back(Gauge("ledger_store_block_cache_bytes", "Memory used by the shared block cache",
                        static_cast<double>(store_->SharedIntProperty("rocksdb.block-cache-usage"))));
    out.push_back(Gauge("ledger_store_estimated_keys", "Estimated keys in the store", prop("rocksdb.estimate-num-keys")));
    out.push_back(Gauge("ledger_store_pending_compaction_bytes", "Bytes RocksDB estimates compaction must rewrite",
                        prop("rocksdb.estimate-pending-compaction-bytes")));
    out.push_back(Gauge("ledger_store_running_compactions", "Compactions running now", prop("rocksdb.num-running-compactions")));
    out.push_back(Gauge("ledger_store_write_stopped", "1 while RocksDB stops writes (a stall)",
                        prop("rocksdb.is-write-stopped") > 0 ? 1 : 0));
    out.push_back(Gauge("ledger_store_delayed_write_rate_bytes", "The write rate RocksDB slows writes to (0: no delay)",
                        prop("rocksdb.actual-delayed-write-rate")));
    AddProcess(out);
    return out;
  }

 private:
  static void AddProcess(std::vector<prometheus::MetricFamily>& out) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (std::getline(stat, line)) {
      // Fields after the command name (which may hold spaces) in parentheses.
      std::istringstream f(line.substr(line.rfind(')') + 2));
      std::vector<std::string> v;
      for (std::string x; f >> x;) v.push_back(x);
      if (v.size() > 21) {
        out.push_back(Gauge("process_cpu_seconds_total", "User and system CPU time",
                            (std::stod(v[11]) + std::stod(v[12])) / ticks, prometheus::MetricType::Counter));
        out.push_back(Gauge("process_resident_memory_bytes", "Resident memory", std::stod(v[21]) * page));
        out.push_back(Gauge("process_virtual_memory_bytes", "Virtual memory", std::stod(v[20])));
        double uptime = 0;
        std::ifstream up("/proc/uptime");
        up >> uptime;
        const double boot = static_cast<double>(time(nullptr)) - uptime;
        out.push_back(Gauge("process_start_time_seconds", "Start time, Unix seconds", boot + std::stod(v[19]) / ticks));
      }
    }
    int fds = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
      while (readdir(d) != nullptr) ++fds;
      closedir(d);
      fds -= 2;  // . and ..
    }
    out.push_back(Gauge("process_open_fds", "Open file descriptors", fds));
  }

  const ProjectionStore* store_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> MakeRuntimeCollector(const ProjectionStore* store) {
  return std::make_shared<RuntimeCollector>(store);
}

}  // namespace ledger
