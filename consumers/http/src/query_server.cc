#include "ledger/http/query_server.h"

#include <sched.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <regex>
#include <thread>

#include "http_metrics.h"
#include "ledger/http/tokens.h"
#include "ledger/queries/answer_format.h"
#include "ledger/queries/questions.h"
#include "openapi_json.h"
#include "status_page_html.h"

namespace ledger {
namespace {

// The route of a question's OpenAPI path: each {parameter} matches one segment of
// lowercase letters and dashes.
std::string RoutePattern(const std::string& http_path) {
  static const std::regex parameter(R"(\{[a-z_]+\})");
  return std::regex_replace(http_path, parameter, "([a-z-]+)");
}

// The metrics label of a question's endpoint: its path before the first {parameter}
// (never a value from the request).
std::string EndpointLabel(const std::string& http_path) {
  const size_t brace = http_path.find("/{");
  return brace == std::string::npos ? http_path : http_path.substr(0, brace);
}

// Asks the scheduler for a short time slice (0.1 ms) for the calling thread, once: on
// Linux 6.12 and later (EEVDF custom slices) a thread woken by a request then preempts
// batch work (the applying thread, compactions, other processes) at once instead of
// waiting for the running task's slice to end. Its share of the CPU is unchanged. An
// older kernel refuses, and the thread keeps the default slice.
void AskForShortSlices() {
  thread_local bool asked = false;
  if (asked) return;
  asked = true;
  struct {  // struct sched_attr of the kernel's ABI, first version (48 bytes)
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
  } attr{};
  static_assert(sizeof attr == 48);
  attr.size = sizeof attr;
  attr.sched_policy = SCHED_OTHER;
  attr.sched_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  attr.sched_runtime = 100'000;  // ns
  (void)syscall(SYS_sched_setattr, 0, &attr, 0);
}

using Clock = std::chrono::steady_clock;

void SendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n", "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, status, Json{{"error", message}, {"status", status}});
}

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidInput: return 400;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kUnavailable: return 503;
    default: return 500;
  }
}

// The request's query parameters; a parameter given twice is an error.
Result<std::map<std::string, std::string>> ParamsOf(const httplib::Request& req) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : req.params) {
    if (!out.emplace(k, v).second) return Status::InvalidInput("the parameter \"" + k + "\" is given twice");
  }
  return out;
}

}  // namespace

struct QueryServer::Impl {
  QueryServerOptions options;
  LedgerView* view = nullptr;
  ServerActions actions;
  std::unique_ptr<httplib::Server> server;
  TokenCheck tokens;
  std::thread serving;
  std::thread refreshing;
  std::mutex mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  int port = 0;

  std::unique_ptr<HttpMetrics> metrics;  // null without a registry

  explicit Impl(const QueryServerOptions& o) : options(o), tokens(o.tokens_file) {}

  // The case counts the alert rules and the status page show (a list scan: every 10 s).
  void SampleCases() {
    double counts[2] = {0, 0};
    int i = 0;
    for (const char* list : {"open-cases", "breached-cases"}) {
      auto answer = view->Ask({"list", {{"list", list}, {"limit", "1"}}});
      if (!answer.ok()) return;  // keeps the last sample
      counts[i++] = (*answer)["total"].get<double>();
    }
    metrics->SetCases(counts[0], counts[1]);
  }

  // Checks the bearer token for a permission; on failure answers 401 or 403 (revealing
  // nothing else) and returns false.
  bool Authorize(const httplib::Request& req, httplib::Response& res, Permission p) {
    const std::string header = req.get_header_value("Authorization");
    // The scheme's name is case-insensitive (RFC 7235 section 2.1).
    const bool bearer = header.size() > 7 && strncasecmp(header.c_str(), "Bearer ", 7) == 0;
    if (!bearer) {
      res.set_header("WWW-Authenticate", "Bearer");
      SendError(res, 401, "a bearer token is required (Authorization: Bearer <token>; ledger token create)");
      return false;
    }
    auto record = tokens.Find(header.substr(7));
    if (!record) {
      res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      SendError(res, 401, "the bearer token is unknown or revoked");
      return false;
    }
    if (!Allows(record->role, p)) {
      SendError(res, 403, std::string("the role ") + RoleName(record->role) + " may not do this");
      return false;
    }
    return true;
  }

  // Registers a handler with its endpoint label, permission and metrics.
  template <typename Handler>
  void Route(const std::string& method, const std::string& pattern, const std::string& endpoint,
             std::optional<Permission> permission, Handler handler) {
    auto wrapped = [this, endpoint, permission, handler](const httplib::Request& req, httplib::Response& res) {
      AskForShortSlices();
      const auto start = Clock::now();
      if (!permission || Authorize(req, res, *permission)) handler(req, res);
      if (metrics) {
        metrics->ObserveRequest(endpoint, res.status, std::chrono::duration<double>(Clock::now() - start).count());
      }
    };
    if (method == "GET") {
      server->Get(pattern, wrapped);
    } else {
      server->Post(pattern, wrapped);
    }
  }

  void Answer(const Question& question, const httplib::Request& req, httplib::Response& res) {
    auto params = ParamsOf(req);
    if (!params.ok()) return SendError(res, 400, params.status().message());
    std::string format = "json";
    if (question.shape == Question::Shape::kList) {
      if (auto f = params->find("format"); f != params->end()) {
        format = f->second;
        params->erase(f);
      }
      if (format != "json" && format != "jsonl" && format != "csv") {
        return SendError(res, 400, "format: \"" + format + "\" is not json, jsonl or csv");
      }
    }
    // The positional parameters, from the path's segments in order.
    size_t segment = 1;
    for (const auto& p : question.parameters) {
      if (p.positional && segment < req.matches.size()) (*params)[p.name] = req.matches[segment++];
    }
    auto answer = view->Ask({question.name, *params});
    if (!answer.ok()) return SendError(res, HttpStatusOf(answer.status()), answer.status().message());
    if (format == "csv") {
      res.set_content(ListAsCsv(*answer), "text/csv; charset=utf-8");
    } else if (format == "jsonl") {
      res.set_content(ListAsJsonLines(*answer), "application/x-ndjson");
    } else {
      SendJson(res, 200, *answer);
    }
  }

  void Routes() {
    Route("GET", "/healthz", "/healthz", std::nullopt,
          [](const httplib::Request&, httplib::Response& res) { SendJson(res, 200, {{"status", "ok"}}); });
    Route("GET", "/v1/openapi.json", "/v1/openapi.json", std::nullopt,
          [](const httplib::Request&, httplib::Response& res) { res.set_content(kOpenApiJson, "application/json"); });
    Route("GET", "/status", "/status", std::nullopt,
          [](const httplib::Request&, httplib::Response& res) { res.set_content(kStatusPageHtml, "text/html; charset=utf-8"); });
    Route("GET", "/v1/status", "/v1/status", Permission::kRead,
          [this](const httplib::Request&, httplib::Response& res) {
            if (!actions.status) return SendError(res, 503, "no projector in this process");
            Json status = actions.status();
            status["cases_open"] = metrics ? metrics->cases_open() : 0.0;
            status["cases_breached"] = metrics ? metrics->cases_breached() : 0.0;
            SendJson(res, 200, status);
          });
    for (const Question& q : Questions()) {
      Route("GET", RoutePattern(q.http_path), EndpointLabel(q.http_path), Permission::kRead,
            [this, &q](const httplib::Request& req, httplib::Response& res) { Answer(q, req, res); });
    }
    Route("POST", "/v1/events", "/v1/events", Permission::kPublish,
          [this](const httplib::Request& req, httplib::Response& res) {
            if (!actions.ingest) return SendError(res, 503, "ingest is not available in this process");
            auto result = actions.ingest(req.body);
            if (!result.ok()) return SendError(res, HttpStatusOf(result.status()), result.status().message());
            SendJson(res, 200, *result);
          });
    Route("POST", R"(/v1/admin/(checkpoint|dlq-replay|rebuild))", "/v1/admin", Permission::kAdmin,
          [this](const httplib::Request& req, httplib::Response& res) {
            if (!actions.admin) return SendError(res, 503, "admin actions are not available in this process");
            auto params = ParamsOf(req);
            if (!params.ok()) return SendError(res, 400, params.status().message());
            auto result = actions.admin(req.matches[1], *params);
            if (!result.ok()) return SendError(res, HttpStatusOf(result.status()), result.status().message());
            SendJson(res, 200, *result);
          });
    server->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 404 && res.body.empty()) {
        SendError(res, 404, "no such endpoint: " + req.method + " " + req.path + " (see /v1/openapi.json)");
      } else if (res.status == 413) {
        SendError(res, 413, "the request body is too large");
      } else if (res.body.empty()) {
        SendError(res, res.status, "the request could not be read (malformed, or a POST without Content-Length)");
      }
    });
    server->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      SendError(res, 500, "internal error");
    });
  }
};

QueryServer::QueryServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<QueryServer>> QueryServer::Start(const QueryServerOptions& options, LedgerView* view,
                                                        ServerActions actions, prometheus::Registry* registry) {
  auto impl = std::make_unique<Impl>(options);
  impl->view = view;
  impl->actions = std::move(actions);
  const bool tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (tls) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return Status::InvalidInput("TLS needs both a certificate and a key file");
    }
    auto ssl = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(), options.tls_key_file.c_str());
    if (!ssl->is_valid()) {
      return Status::InvalidInput("cannot use the TLS certificate " + options.tls_cert_file + " and key " +
                                  options.tls_key_file);
    }
    impl->server = std::move(ssl);
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  impl->server->set_payload_max_length(options.max_body_bytes);
  impl->server->set_read_timeout(options.io_timeout_seconds, 0);
  impl->server->set_write_timeout(options.io_timeout_seconds, 0);
  impl->server->set_keep_alive_max_count(1000);
  // Small answers must leave at once (Nagle's algorithm would hold them ~40 ms), and each
  // kept-alive connection holds a worker thread: enough threads for many clients.
  impl->server->set_tcp_nodelay(true);
  const size_t threads = options.threads;
  impl->server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  if (registry != nullptr) impl->metrics = std::make_unique<HttpMetrics>(*registry);
  impl->Routes();

  const auto colon = options.listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidInput("--http-listen: \"" + options.listen + "\" is not host:port");
  const std::string host = options.listen.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(options.listen.substr(colon + 1));
  } catch (const std::exception&) {
    return Status::InvalidInput("--http-listen: \"" + options.listen + "\" has no port number");
  }
  impl->port = port == 0 ? impl->server->bind_to_any_port(host) : (impl->server->bind_to_port(host, port) ? port : -1);
  if (impl->port <= 0) {
    return Status::Unavailable("cannot listen on " + options.listen + " (in use? --http-listen picks another)");
  }
  Impl* raw = impl.get();
  impl->serving = std::thread([raw] { raw->server->listen_after_bind(); });
  impl->refreshing = std::thread([raw] {
    std::unique_lock lock(raw->mu);
    for (int tick = 0; !raw->stop_cv.wait_for(lock, std::chrono::seconds(1), [raw] { return raw->stopping; });
         ++tick) {
      (void)raw->view->RefreshReference();  // a failure keeps the data loaded before
      if (raw->metrics && tick % 10 == 0) raw->SampleCases();
    }
  });
  for (int i = 0; i < 500 && !raw->server->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return std::unique_ptr<QueryServer>(new QueryServer(std::move(impl)));
}

QueryServer::~QueryServer() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  impl_->server->stop();
  if (impl_->serving.joinable()) impl_->serving.join();
  if (impl_->refreshing.joinable()) impl_->refreshing.join();
}

int QueryServer::port() const { return impl_->port; }

std::string QueryServer::url() const {
  const bool tls = !impl_->options.tls_cert_file.empty();
  const auto colon = impl_->options.listen.rfind(':');
  return std::string(tls ? "https://" : "http://") + impl_->options.listen.substr(0, colon) + ":" +
         std::to_string(impl_->port);
}

}  // namespace ledger
