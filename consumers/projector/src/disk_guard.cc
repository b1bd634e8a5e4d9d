#include "disk_guard.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <chrono>

namespace ledger {

uint64_t DiskGuard::FreeBytes() const {
  struct statvfs fs {};
  if (statvfs(dir_.c_str(), &fs) != 0) return UINT64_MAX;  // unknown: do not block
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

bool DiskGuard::HasRoom() const { return min_free_bytes_ == 0 || FreeBytes() >= min_free_bytes_; }

void DiskGuard::ReportFull() {
  const auto now = std::chrono::steady_clock::now();
  if (reported_ != std::chrono::steady_clock::time_point{} && now - reported_ < std::chrono::seconds(10)) return;
  reported_ = now;
  if (metrics_) metrics_->CountError("disk_full");
  spdlog::error("{} has {} MiB free, less than the {} MiB kept free: consumption paused until there is room", dir_,
                FreeBytes() >> 20, min_free_bytes_ >> 20);
}

}  // namespace ledger
