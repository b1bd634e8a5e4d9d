// Bearer tokens for the HTTP API: each has a name and a role, and is stored only as its
// SHA-256 hash in a tokens file (JSON lines), so the file does not give access to anyone
// who reads it. `ledger token create|revoke|list` edit the file; the server re-reads it
// when it changes.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ledger/base/mutex.h"
#include "ledger/base/status.h"
#include "ledger/base/time.h"

namespace ledger {

enum class Role { kAnalyst, kOperator, kPublisher };
const char* RoleName(Role r);
std::optional<Role> RoleByName(std::string_view name);

// What each role may do: analysts read; operators read and administer (rebuild,
// checkpoint, dead-letter replay); publishers send events (HTTP ingest).
enum class Permission { kRead, kAdmin, kPublish };
bool Allows(Role role, Permission p);

struct TokenRecord {
  std::string name;
  Role role = Role::kAnalyst;
  std::string sha256;  // hex of the token's SHA-256
  Millis created_at = 0;
  Millis revoked_at = 0;  // 0: not revoked
};

// The tokens file. Create and Revoke hold an exclusive lock (flock on PATH.lock) across
// their read and write, and replace the file atomically (a new file renamed over it):
// changes made at the same time, by threads or processes, are never lost, and a reader
// never sees half a file. A line that is not a token record makes Read fail, naming the
// line.
class TokenFile {
 public:
  explicit TokenFile(std::filesystem::path path) : path_(std::move(path)) {}

  Result<std::vector<TokenRecord>> Read() const;
  // Creates a token for `name` (which must be new or revoked) and returns it: it is shown
  // once and never stored.
  Result<std::string> Create(const std::string& name, Role role, Millis now);
  // Revokes every token named `name`; NotFound if there is none.
  Status Revoke(const std::string& name, Millis now);

  const std::filesystem::path& path() const { return path_; }

 private:
  Status Write(const std::vector<TokenRecord>& records) const;
  std::filesystem::path path_;
};

// Checks bearer tokens against a tokens file, re-reading it when it changes. Thread-safe.
class TokenCheck {
 public:
  explicit TokenCheck(std::filesystem::path path) : file_(std::move(path)) {}
  // The record of a valid (known, not revoked) token; nullopt otherwise. While the file
  // cannot be read (a malformed line), no token is valid: the failure is logged once per
  // change of the file and kept in last_error().
  std::optional<TokenRecord> Find(const std::string& token);
  Status last_error();

 private:
  TokenFile file_;
  Mutex mu_;
  struct FileVersion {
    uint64_t inode = 0;
    int64_t mtime_s = 0, mtime_ns = 0, size = -1;
    bool operator!=(const FileVersion& o) const {
      return inode != o.inode || mtime_s != o.mtime_s || mtime_ns != o.mtime_ns || size != o.size;
    }
  };
  FileVersion loaded_ LEDGER_GUARDED_BY(mu_);
  bool loaded_once_ LEDGER_GUARDED_BY(mu_) = false;
  std::vector<TokenRecord> records_ LEDGER_GUARDED_BY(mu_);
  Status error_ LEDGER_GUARDED_BY(mu_);
};

std::string Sha256Hex(std::string_view data);

}  // namespace ledger
