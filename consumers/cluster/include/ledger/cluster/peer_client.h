// Questions asked of the other instances of a projector group over their HTTP API: one
// kept-alive connection per serving thread and instance, HTTPS checked against the
// group's trusted certificates. An instance that does not answer is remembered as
// unreachable for InstanceDirectory::kStaleAfter (the grace), so that questions allowing
// a standby go to one at once meanwhile.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ledger/base/status.h"

namespace ledger {

struct PeerClientOptions {
  // The certificates (PEM) trusted for an https:// instance; their host names are
  // checked too. Empty: the system's CAs.
  std::string trusted_ca_file;
  // How long an instance may take to answer (it may itself wait for min_position).
  std::chrono::seconds read_timeout{10};
};

// A question for another instance: a GET of `path` with these parameters and headers.
struct PeerRequest {
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct PeerAnswer {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // those the API names (X-Ledger-*, Retry-After, Content-Type)

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class PeerClient {
 public:
  explicit PeerClient(PeerClientOptions options) : options_(std::move(options)) {}

  // Whether the PEM file at `path` holds certificates that can be trusted; InvalidInput
  // naming `flag` and the file otherwise.
  static Status CheckTrusted(const std::string& path, const std::string& flag);

  // Asks the instance at `url` (http:// or https://). Unavailable, naming the instance and
  // why, when it gives no answer (it is then unreachable for the grace). Thread-safe.
  Result<PeerAnswer> Get(const std::string& url, const PeerRequest& request);

  // The instances that failed to answer within the grace. Thread-safe.
  std::set<std::string> Unreachable();

 private:
  void MarkUnreachable(const std::string& url);

  PeerClientOptions options_;
  std::mutex mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> unreachable_;  // guarded by mu_
};

}  // namespace ledger
