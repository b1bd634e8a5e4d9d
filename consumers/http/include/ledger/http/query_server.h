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
#include "ledger/cluster/group_plan.h"
#include "ledger/queries/ledger_view.h"

namespace ledger {

struct QueryServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port (port 0: any free port)
  std::filesystem::path tokens_file;      // the tokens (ledger token create)
  std::string tls_cert_file;              // both set: HTTPS only
  std::string tls_key_file;
  // The certificates (PEM) trusted for the group's other instances when a question is
  // forwarded to an https:// address; their host names are checked too. Empty:
  // tls_cert_file (a group sharing one certificate), or without it the system's CAs.
  std::string peer_ca_file;
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
  // Where a question about `account` is answered, in a projector group
  // (ledger/cluster/group_plan.h, RouteAccount, with the question's bound): here, or the
  // API address (http://host:port) of another instance, to which the question is
  // forwarded; Unavailable while nobody answers for its partition (a hand-over): 503 with
  // Retry-After. Null: always here.
  std::function<Result<Answerer>(const std::string& account, const ReadBound& bound)> route;
  // Where a list's partitions are answered, in a projector group (PlanList): API address
  // ("" for here) -> the partitions it answers for, each partition once; empty when this
  // instance knows no other (it answers the whole list from its store). Unavailable while
  // a partition has no owner or standby (503). Null: always here.
  std::function<Result<std::map<std::string, std::vector<int>>>(const ReadBound& bound)> list_plan;
  // For a part of a list forwarded by another instance: whether these partitions are
  // answered here (AnswersHere). Null: always.
  std::function<Status(const std::vector<int>& partitions, const ReadBound& bound)> answers_here;
  // This instance's id, named in every answer (header X-Ledger-Instance).
  std::string instance;
  // The partitions of the events topic (0 while not known yet): a min_position naming a
  // partition beyond them is refused at once (400).
  std::function<int()> partition_count;
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
