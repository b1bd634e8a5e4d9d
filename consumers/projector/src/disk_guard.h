// The disk guard: the projector writes nothing while the store's disk has less than a
// configured amount free, so that RocksDB never fails halfway through a write.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "ledger/projector/projector_metrics.h"

namespace ledger {

class DiskGuard {
 public:
  // `min_free_bytes` 0 disables the guard. `metrics` may be null.
  DiskGuard(std::string dir, uint64_t min_free_bytes, ProjectorMetrics* metrics)
      : dir_(std::move(dir)), min_free_bytes_(min_free_bytes), metrics_(metrics) {}

  // Whether a write may go ahead now.
  bool HasRoom() const;

  // Logs and counts (disk_full) that there is no room, at most every 10 s.
  void ReportFull();

  // Bytes free for the store's directory; unknown counts as unlimited.
  uint64_t FreeBytes() const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  uint64_t min_free_bytes_;
  ProjectorMetrics* metrics_;
  std::chrono::steady_clock::time_point reported_{};
};

}  // namespace ledger
