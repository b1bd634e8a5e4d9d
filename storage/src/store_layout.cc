#include "ledger/storage/store_layout.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace ledger {
namespace fs = std::filesystem;

std::string GenerationDir(const std::string& dir, int n) {
  return dir + ".stores/" + std::to_string(n);
}

Status EnsureStoreLayout(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dir, ec))) return Status::Ok();
  fs::create_directories(GenerationDir(dir, 1), ec);
  if (ec) return Status::IoError("cannot create " + GenerationDir(dir, 1) + ": " + ec.message());
  return SwitchGeneration(dir, 1);
}

std::optional<int> CurrentGeneration(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_symlink(dir, ec)) return std::nullopt;
  const fs::path target = fs::read_symlink(dir, ec);
  if (ec) return std::nullopt;
  try {
    return std::stoi(target.filename().string());
  } catch (...) {
    return std::nullopt;
  }
}

Status SwitchGeneration(const std::string& dir, int n) {
  // A relative link, so the whole state directory can be moved or copied.
  const fs::path target = fs::path(fs::path(dir).filename().string() + ".stores") / std::to_string(n);
  const std::string tmp = dir + ".switching";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_directory_symlink(target, tmp, ec);
  if (ec) return Status::IoError("cannot create the link " + tmp + ": " + ec.message());
  if (std::rename(tmp.c_str(), dir.c_str()) != 0) {
    return Status::IoError("cannot switch " + dir + " to generation " + std::to_string(n));
  }
  return Status::Ok();
}

}  // namespace ledger
