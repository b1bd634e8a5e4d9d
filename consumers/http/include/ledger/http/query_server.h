// The HTTP/1.1 JSON API (on Boost.Beast, consumers/http/src/http_transport.h), served by the projector process (like Kafka Streams' interactive
// queries): every question of LedgerView::Ask as a GET endpoint, HTTP ingest, admin
// actions, the OpenAPI document. Bearer tokens with roles (ledger/tokens.h); TLS when a
// certificate is configured. A thin shell: parameters in, LedgerView out.
//
// Endpoints (consumers/http/openapi.json is the contract):
//   GET  /healthz                           no token
//   GET  /v1/openapi.json                   no token
//   GET  /status  (HTML status page)        no token; its data comes from /v1/status
//   GET  /v1/status                         analyst, operator
//   GET  /v1/entitlement|intake|case|portal analyst, operator
//        (in a projector group: answered by the account's owner or a standby, see
//        ServerActions::route; headers X-Ledger-Instance, X-Ledger-Role, X-Ledger-Position)
//   GET  /v1/lists/{name}[?format=json|jsonl|csv]
//                                           analyst, operator
//   POST /v1/events   (JSON lines)          publisher
//   POST /v1/admin/{checkpoint|dlq-replay|rebuild}
//                                           operator
#pragma once

#include <prometheus/registry.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "ledger/base/status.h"
#include "ledger/cluster/group_router.h"
#include "ledger/queries/ledger_view.h"

namespace ledger {

struct QueryServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port (port 0: any free port)
  std::filesystem::path tokens_file;      // the tokens (ledger token create)
  std::string tls_cert_file;              // both set: HTTPS only
  std::string tls_key_file;
  size_t max_body_bytes = 8u << 20;       // larger request bodies get 413
  // A request's headers and body must arrive within this, an answer be sent within it,
  // and an idle kept-alive connection is closed after it.
  int io_timeout_seconds = 10;
  size_t threads = 4;             // requests answered at the same time (waiting clients hold none)
  // Lists answered at the same time (0: a quarter of `threads`, at least 1); another list
  // meanwhile gets 503 with Retry-After, so that point questions and /healthz always have
  // threads.
  size_t max_concurrent_lists = 0;
  size_t max_connections = 1024;  // more connections are closed at once
};

// What the process does for ingest and admin requests. Each returns the JSON to send, or
// an error status (InvalidInput: 400, NotFound: 404, TooLarge: 422, Unavailable: 503).
struct ServerActions {
  // JSON lines in; a result per line out.
  std::function<Result<Json>(const std::string& body)> ingest;
  // The projector's progress for GET /v1/status and the status page.
  std::function<Json()> status;
  // action: "checkpoint" (params: dir), "dlq-replay" (from), "rebuild".
  std::function<Result<Json>(const std::string& action, const std::map<std::string, std::string>& params)> admin;
  // In a projector group, who answers which question, and the forwarding of a question
  // to another instance (ledger/cluster/group_router.h): an account's question goes to
  // its partition's owner or a standby (503 with Retry-After while nobody answers for it:
  // a hand-over); a list is answered in parts, each where its partitions are answered;
  // a min_position naming a partition beyond the topic's is refused at once (400). Null:
  // every question is answered here. Must outlive the server.
  GroupRouter* group = nullptr;
  // Called for every admin request, allowed or not (the audit trail, ledger.audit): the
  // caller's name and role as checked ("" when no valid token), the method and path, its
  // parameters (never a token or a body), and the HTTP status. Null: logged only.
  std::function<void(const std::string& who, const std::string& role, const std::string& action,
                     const std::string& target, int status)>
      audit;
  // This instance's id, named in every answer (header X-Ledger-Instance).
  std::string instance;
};

class QueryServer {
 public:
  // Binds and starts serving on its own threads. `view` must outlive the server; its
  // reference data is refreshed every second. `registry` (may be null) gets the
  // request metrics.
  static Result<std::unique_ptr<QueryServer>> Start(const QueryServerOptions& options, LedgerView* view,
                                                    ServerActions actions, prometheus::Registry* registry);
  ~QueryServer();  // stops serving and joins its threads

  int port() const;
  std::string url() const;

 private:
  struct Impl;
  explicit QueryServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger
