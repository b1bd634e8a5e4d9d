#include "ledger/http/query_server.h"

#include <sched.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>


#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <limits>
#include <chrono>
#include <condition_variable>
#include <regex>
#include <set>
#include <string_view>
#include <thread>

#include "http_metrics.h"
#include "http_transport.h"
#include "ledger/base/positions.h"
#include "ledger/base/text.h"
#include "ledger/cluster/instance_directory.h"
#include "ledger/http/tokens.h"
#include "ledger/queries/answer_format.h"
#include "ledger/queries/questions.h"
#include "openapi_json.h"
#include "status_page_html.h"

namespace ledger {
namespace {

// Events behind the log's end past which the projector counts as catching up.
constexpr int64_t kCatchingUpLag = 10'000;

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

void SendJson(HttpResponse& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n", "application/json");
}

void SendError(HttpResponse& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(ErrorBody(status, message), "application/json");
}

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidInput: return 400;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kTooLarge: return 422;
    case Status::Code::kUnavailable: return 503;
    case Status::Code::kRefused: return 502;  // Kafka refused this server's credentials
    default: return 500;
  }
}

// The request's query parameters; a parameter given twice is an error.
Result<std::map<std::string, std::string>> ParamsOf(const HttpRequest& req) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : req.params) {
    if (!out.emplace(k, v).second) return Status::InvalidInput("the parameter \"" + k + "\" is given twice");
  }
  return out;
}

// A list's `partitions` parameter (P,P,...) as numbers; empty when not given (every
// partition). A malformed one is the list's to refuse (LedgerView::Ask).
std::vector<int> ListedPartitions(const std::map<std::string, std::string>& params) {
  std::vector<int> partitions;
  auto only = params.find("partitions");
  if (only == params.end()) return partitions;
  const std::string& text = only->second;
  for (size_t at = 0; at <= text.size();) {
    const size_t comma = std::min(text.find(',', at), text.size());
    int p = -1;
    std::from_chars(text.data() + at, text.data() + comma, p);
    if (p >= 0) partitions.push_back(p);
    at = comma + 1;
  }
  return partitions;
}

// `text` percent-encoded for a URL, but for the unreserved characters and `keep`.
std::string UrlEncoded(const std::string& text, std::string_view keep) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || std::string_view("-_.~").find(static_cast<char>(c)) != std::string_view::npos ||
        keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The request again from item `offset` on: its path and query, offset replaced.
std::string NextPage(const HttpRequest& req, int64_t offset) {
  std::string url = UrlEncoded(req.path, "/") + "?";
  for (const auto& [k, v] : req.params) {
    if (k != "offset") url += UrlEncoded(k, "") + "=" + UrlEncoded(v, ":,") + "&";
  }
  return url + "offset=" + std::to_string(offset);
}

}  // namespace

struct QueryServer::Impl {
  QueryServerOptions options;
  std::atomic<size_t> waiting{0};  // questions waiting for min_position now
  std::atomic<size_t> lists{0};    // lists being answered now
  LedgerView* view = nullptr;
  ServerActions actions;
  std::unique_ptr<HttpTransport> transport;
  struct RouteEntry {
    std::string method;
    std::regex pattern;
    std::function<void(const HttpRequest&, HttpResponse&)> handler;
  };
  std::vector<RouteEntry> routes;
  TokenCheck tokens;
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
  // nothing else) and returns false. On success `caller` gets the token's name and role.
  // `who`, if given, gets the token's name (for the audit log), whether it may or not.
  bool Authorize(const HttpRequest& req, HttpResponse& res, Permission p, Caller& caller, std::string* who) {
    const std::string header = req.header("authorization");
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
    if (who != nullptr) *who = record->name + " (" + RoleName(record->role) + ")";
    if (!Allows(record->role, p)) {
      SendError(res, 403, std::string("the role ") + RoleName(record->role) + " may not do this");
      return false;
    }
    caller = {record->name, RoleName(record->role)};
    return true;
  }

  // A question another instance of the group forwarded, signed with the group's secret:
  // its caller as that instance checked it. Otherwise the forwarding headers are a
  // client's and are dropped from `req` (the request is then checked as any other).
  std::optional<Caller> FromPeer(HttpRequest& req) {
    static const std::set<std::string> kPeerHeaders = {"x-ledger-forwarded", "x-ledger-caller",
                                                       "x-ledger-caller-role", "x-ledger-sent-at",
                                                       "x-ledger-peer-signature"};
    std::optional<Caller> caller;
    if (actions.group != nullptr && !req.header("x-ledger-forwarded").empty()) {
      caller = actions.group->VerifyForwarded(req.method, req.path, req.params,
                                              [&req](const std::string& name) { return req.header(name); });
      if (!caller) spdlog::warn("a request with forwarding headers not signed by the group: they are ignored");
    }
    if (!caller) {
      std::erase_if(req.headers, [](const auto& h) { return kPeerHeaders.count(h.first) > 0; });
    }
    return caller;
  }

  // Registers a handler with its endpoint label, permission and metrics.
  template <typename Handler>
  void Route(const std::string& method, const std::string& pattern, const std::string& endpoint,
             std::optional<Permission> permission, Handler handler) {
    auto wrapped = [this, endpoint, permission, handler](const HttpRequest& asked, HttpResponse& res) {
      const auto start = Clock::now();
      HttpRequest req = asked;
      std::string who;
      Caller caller;
      bool allowed = !permission.has_value();
      if (auto peer = FromPeer(req); peer && permission) {
        // Another instance of the group checked the caller's token; the role decides here too.
        who = peer->name + " (" + peer->role + ", through " + req.header("x-ledger-forwarded") + ")";
        const auto role = RoleByName(peer->role);
        allowed = role && Allows(*role, *permission);
        if (!allowed) SendError(res, 403, "the role " + Printable(peer->role, 40) + " may not do this");
        caller = *peer;
      } else if (permission) {
        allowed = Authorize(req, res, *permission, caller, &who);
      }
      if (allowed) {
        // The identity a forwarded question carries (never the token): set here only.
        req.headers.emplace_back("x-ledger-caller", caller.name);
        req.headers.emplace_back("x-ledger-caller-role", caller.role);
        handler(req, res);
      }
      // Admin requests, allowed or not, in the log with the token's name.
      if (permission == Permission::kAdmin) Audit(req, who, caller, res.status);
      if (metrics) {
        metrics->ObserveRequest(endpoint, res.status, std::chrono::duration<double>(Clock::now() - start).count());
      }
    };
    routes.push_back({method, std::regex(pattern), wrapped});
  }

  void Audit(const HttpRequest& req, const std::string& who, const Caller& caller, int status) {
    std::string params;
    for (const auto& [k, v] : req.params) params += (params.empty() ? "?" : "&") + k + "=" + v;
    spdlog::info("audit: {} {}{} by {}: {}", req.method, Printable(req.path, 200), Printable(params, 500),
                 who.empty() ? "no valid token" : Printable(who, 200), status);
    if (actions.audit) {
      actions.audit(Printable(caller.name, 200), caller.role, req.method + " " + Printable(req.path, 200),
                    Printable(params, 500), status);
    }
  }

  // The transport's handler: the first route whose method and path match.
  void Dispatch(const HttpRequest& req, HttpResponse& res) {
    std::smatch m;
    for (const RouteEntry& r : routes) {
      if (r.method != req.method || !std::regex_match(req.path, m, r.pattern)) continue;
      HttpRequest matched = req;
      for (const auto& group : m) matched.matches.push_back(group.str());
      return r.handler(matched, res);
    }
    SendError(res, 404, "no such endpoint: " + req.method + " " + req.path + " (see /v1/openapi.json)");
  }

  // Asks the instance at `url` the same question for the same caller (its identity,
  // signed with the group's secret; never its token), and relays its answer (which names
  // the instance that served it). False if it did not answer (503 with Retry-After in
  // `res`; the instance is unreachable for the grace).
  bool Forward(const std::string& url, const HttpRequest& req, HttpResponse& res) {
    PeerRequest request;
    request.path = req.path;
    request.params.assign(req.params.begin(), req.params.end());
    const Caller caller{req.header("x-ledger-caller"), req.header("x-ledger-caller-role")};
    auto answer = actions.group->Forward(url, std::move(request), caller);
    if (!answer.ok()) {
      res.set_header("Retry-After", "1");
      SendError(res, 503, answer.status().message());
      return false;
    }
    res.status = answer->status;
    res.set_content(answer->body, answer->header("Content-Type"));
    for (const auto& [name, value] : answer->headers) {
      if (name != "Content-Type") res.set_header(name, value);
    }
    res.set_header("X-Ledger-Forwarded-By", actions.instance);
    if (metrics) metrics->CountForwarded();
    return true;
  }

  // A list across a projector group: each instance of `plan` asked for the first
  // offset+limit items of its partitions (with `passed`: the positions it waits for
  // there), the answers merged in the list's order, then the page cut. Fails
  // (Unavailable) if any instance does not answer.
  Result<Json> FanOutList(const Question& question, const HttpRequest& req,
                          const std::map<std::string, std::string>& params,
                          const std::map<std::string, std::string>& passed,
                          const std::map<std::string, std::vector<int>>& plan, const ReadBound& bound,
                          Positions& positions, std::vector<std::string>& served_by) {
    auto number = [&](const char* name, int64_t fallback, int64_t least, int64_t most) -> Result<int64_t> {
      auto it = params.find(name);
      if (it == params.end()) return fallback;
      int64_t v = 0;
      const std::string& text = it->second;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size() || v < least || v > most) {
        return Status::InvalidInput(std::string(name) + ": \"" + Printable(text, 32) + "\" is not a number from " +
                                    std::to_string(least) + " to " + std::to_string(most));
      }
      return v;
    };
    auto offset_asked = number("offset", 0, 0, std::numeric_limits<int32_t>::max());
    if (!offset_asked.ok()) return offset_asked.status();
    auto limit_asked = number("limit", 1000, 1, 100000);
    if (!limit_asked.ok()) return limit_asked.status();
    const int64_t offset = *offset_asked, limit = *limit_asked;
    std::map<std::string, std::string> part = params;
    part["offset"] = "0";
    part["limit"] = std::to_string(std::min<int64_t>(offset + limit, 100000));
    Json merged;
    std::vector<Json> items;
    int64_t total = 0;
    std::map<std::string, int64_t> counts;
    for (const auto& [url, partitions] : plan) {
      std::string list;
      for (int p : partitions) list += (list.empty() ? "" : ",") + std::to_string(p);
      part["partitions"] = list;
      Result<Json> answer = Status::Ok();
      if (url.empty()) {
        answer = view->Ask({question.name, part});
        if (auto at = view->PositionsOf(partitions); at.ok()) positions.insert(at->begin(), at->end());
        served_by.push_back(actions.instance);
      } else {
        HttpRequest sub = req;
        sub.params.assign(part.begin(), part.end());
        sub.params.insert(sub.params.end(), passed.begin(), passed.end());
        if (bound.max_lag) sub.params.emplace_back("max_lag", std::to_string(*bound.max_lag));
        sub.params.erase(std::remove_if(sub.params.begin(), sub.params.end(),
                                        [](const auto& kv) { return kv.first == "list"; }),
                         sub.params.end());
        HttpResponse got;
        Forward(url, sub, got);
        if (got.status == 400) {  // the question's own mistake, as the other instance worded it
          const Json error = Json::parse(got.body, nullptr, false);
          return Status::InvalidInput(error.is_object() ? error.value("error", got.body) : got.body);
        }
        if (got.status != 200) {
          return Status::Unavailable("the instance at " + url + " did not give its part of the list (" +
                                     std::to_string(got.status) + "); ask again");
        }
        auto parsed = Json::parse(got.body, nullptr, false);
        if (!parsed.is_object()) return Status::Unavailable("the instance at " + url + " gave no list; ask again");
        answer = std::move(parsed);
        if (auto at = ParsePositions(got.header("X-Ledger-Position")); at.ok()) {
          positions.insert(at->begin(), at->end());
        }
        served_by.push_back(got.header("X-Ledger-Instance"));
      }
      if (!answer.ok()) return answer.status();
      if (merged.is_null()) merged = *answer;
      total += answer->value("total", int64_t{0});
      if (auto c = answer->find("counts"); c != answer->end()) {
        for (auto it = c->begin(); it != c->end(); ++it) counts[it.key()] += it.value().get<int64_t>();
      }
      for (const auto& item : (*answer)["items"]) items.push_back(item);
    }
    SortInListOrder(items);
    merged["total"] = total;
    merged["offset"] = offset;
    merged["limit"] = limit;
    if (!counts.empty()) merged["counts"] = counts;
    Json page = Json::array();
    for (size_t i = static_cast<size_t>(offset); i < items.size() && page.size() < static_cast<size_t>(limit); ++i) {
      page.push_back(items[i]);
    }
    merged["items"] = std::move(page);
    return merged;
  }

  // A turn among the questions that hold a thread while they wait (for min_position, or
  // for another instance's answer): at most half of the threads, so that the others keep
  // answering /healthz and questions that need no wait.
  struct WaitTurn {
    std::atomic<size_t>* n = nullptr;
    ~WaitTurn() {
      if (n) --*n;
    }
  };
  bool TakeWaitTurn(WaitTurn& turn, HttpResponse& res, const char* what) {
    turn.n = &waiting;
    if (++waiting <= std::max<size_t>(1, options.threads / 2)) return true;
    res.set_header("Retry-After", "1");
    SendError(res, 503, std::string(what) + ": too many questions are waiting already; ask again");
    return false;
  }

  void Answer(const Question& question, const HttpRequest& req, HttpResponse& res) {
    auto params = ParamsOf(req);
    if (!params.ok()) return SendError(res, 400, params.status().message());
    if (!actions.instance.empty()) res.set_header("X-Ledger-Instance", actions.instance);
    // Only a question another instance of the group forwarded (signed) keeps this header.
    const bool forwarded = !req.header("x-ledger-forwarded").empty();
    // In a projector group, an account's questions are answered by its partition's owner,
    // or by a standby (ReadBound).
    ReadBound bound;
    bound.forwarded = forwarded;
    if (auto lag = params->find("max_lag"); lag != params->end()) {
      auto parsed = ParseMaxLag(lag->second, "max_lag");
      if (!parsed.ok()) return SendError(res, 400, parsed.status().message());
      bound.max_lag = *parsed;
      params->erase(lag);
    }
    // Read your writes: the positions to wait for, checked before anything is asked.
    std::optional<Positions> min_position;
    std::chrono::milliseconds max_wait{0};
    if (auto mp = params->find("min_position"); mp != params->end()) {
      auto positions = ParsePositions(mp->second);
      if (!positions.ok()) return SendError(res, 400, positions.status().message());
      if (const int count = actions.group ? actions.group->PartitionCount() : 0; count > 0) {
        for (const auto& [p, offset] : *positions) {
          if (p < count) continue;
          return SendError(res, 400, "min_position: partition " + std::to_string(p) + " does not exist (" +
                                         "ledger.events has " + std::to_string(count) +
                                         " partitions, 0 to " + std::to_string(count - 1) + ")");
        }
      }
      auto wait = ParseMaxWait(params->count("max_wait_ms") ? params->at("max_wait_ms") : "", "max_wait_ms");
      if (!wait.ok()) return SendError(res, 400, wait.status().message());
      min_position = std::move(*positions);
      max_wait = *wait;
    } else if (params->count("max_wait_ms")) {
      return SendError(res, 400, "max_wait_ms: it bounds the wait for min_position, which is not given");
    }
    // The partitions this answer reads here (nullopt: all of them): only their positions
    // are waited for.
    std::optional<std::set<int>> reads;
    std::optional<Answerer> here;  // answered here, in a group: as owner or standby
    if (auto account = params->find("account"); actions.group && account != params->end()) {
      bound.unreachable = actions.group->Unreachable();
      for (;;) {
        auto where = actions.group->Route(account->second, bound);
        if (!where.ok()) {
          res.set_header("Retry-After", "1");
          return SendError(res, 503, where.status().message());
        }
        if (where->url.empty()) {
          here = *where;
          break;
        }
        WaitTurn turn;
        if (!TakeWaitTurn(turn, res, "forwarding")) return;
        if (Forward(where->url, req, res)) return;
        // A silent owner: questions that allow a standby go to one at once; the others
        // wait for the grace (503 from Forward).
        if (!bound.max_lag || where->standby) return;
        bound.unreachable.insert(where->url);
      }
    }
    if (here) {
      res.set_header("X-Ledger-Role", here->standby ? "standby" : "owner");
      if (here->standby) res.set_header("X-Ledger-Behind", std::to_string(here->behind));
      reads = std::set<int>{here->partition};
    }
    params->erase("min_position");
    params->erase("max_wait_ms");
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
    // Lists take turns: at most a bounded share of the threads answers them at once. A
    // part of another instance's list does not take one: that list holds its turn there.
    struct ListTurn {
      std::atomic<size_t>* n = nullptr;
      ~ListTurn() {
        if (n) --*n;
      }
    } list_turn;
    if (question.shape == Question::Shape::kList && !forwarded) {
      const size_t most = options.max_concurrent_lists > 0 ? options.max_concurrent_lists
                                                           : std::max<size_t>(1, options.threads / 4);
      list_turn.n = &lists;
      if (++lists > most) {
        res.set_header("Retry-After", "1");
        return SendError(res, 503, "list: " + std::to_string(most) +
                                       " list(s) are being answered already, the most at once; ask again");
      }
    }
    // The positional parameters, from the path's segments in order.
    size_t segment = 1;
    for (const auto& p : question.parameters) {
      if (p.positional && segment < req.matches.size()) (*params)[p.name] = req.matches[segment++];
    }
    const bool whole_list = question.shape == Question::Shape::kList && !params->count("account") &&
                            !params->count("partitions") && !forwarded;
    std::map<std::string, std::vector<int>> plan;
    if (question.shape == Question::Shape::kList && params->count("partitions")) {
      const std::vector<int> listed = ListedPartitions(*params);
      reads = std::set<int>(listed.begin(), listed.end());
      if (forwarded && actions.group) {
        // Another instance's fan-out chose this one for these partitions.
        if (Status s = actions.group->AnswersHere(listed, bound); !s.ok()) {
          res.set_header("Retry-After", "1");
          return SendError(res, 503, s.message());
        }
      }
    }
    if (whole_list && actions.group) {
      bound.unreachable = actions.group->Unreachable();
      auto planned = actions.group->PlanList(bound);
      if (!planned.ok()) {
        res.set_header("Retry-After", "1");
        return SendError(res, 503, planned.status().message());
      }
      plan = std::move(*planned);
      if (!plan.empty()) {
        auto local = plan.find("");
        reads = local == plan.end() ? std::set<int>() : std::set<int>(local->second.begin(), local->second.end());
      }
    }
    // Read your writes: wait (boundedly) until the writer's positions are projected, for
    // the partitions read here; another instance's part of a list waits there.
    if (min_position) {
      Positions wanted;
      for (const auto& [p, offset] : *min_position) {
        if (!reads || reads->count(p)) wanted[p] = offset;
      }
      if (!wanted.empty()) {
        WaitTurn turn;
        if (!TakeWaitTurn(turn, res, "min_position")) return;
        if (Status s = view->AwaitPositions(wanted, max_wait); !s.ok()) {
          if (s.code() == Status::Code::kUnavailable) res.set_header("Retry-After", "1");
          return SendError(res, HttpStatusOf(s), s.message());
        }
      }
    }
    Result<Json> answer = Status::Ok();
    if (!plan.empty()) {
      // A list across the group: the positions of every partition it reflects, and the
      // instances that answered for them (the asked one first when it did).
      Positions positions;
      std::vector<std::string> served_by;
      std::map<std::string, std::string> passed;  // what each part waits for, there
      if (min_position) {
        passed["min_position"] = FormatPositions(*min_position);
        passed["max_wait_ms"] = std::to_string(max_wait.count());
      }
      answer = FanOutList(question, req, *params, passed, plan, bound, positions, served_by);
      if (!answer.ok() && answer.status().code() == Status::Code::kUnavailable) res.set_header("Retry-After", "1");
      if (answer.ok()) {
        res.set_header("X-Ledger-Position", FormatPositions(positions));
        std::string names;
        for (const auto& name : served_by) names += (names.empty() ? "" : ",") + name;
        if (!names.empty()) res.set_header("X-Ledger-Instance", names);
      }
    } else {
      answer = view->Ask({question.name, *params});
      // The position the answer reflects: the account's partition and its last offset
      // projected; for a list, each partition's.
      if (auto account = params->find("account"); answer.ok() && account != params->end()) {
        if (auto at = view->PositionOf(account->second); at.ok() && at->has_value()) {
          res.set_header("X-Ledger-Position", std::to_string((*at)->first) + ":" + std::to_string((*at)->second));
        }
      } else if (answer.ok() && question.shape == Question::Shape::kList) {
        if (auto at = view->PositionsOf(ListedPartitions(*params)); at.ok()) {
          res.set_header("X-Ledger-Position", FormatPositions(*at));
        }
      }
    }
    // Advice about an account the ledger does not know (never part of the answer).
    if (auto account = params->find("account"); account != params->end() && !params->count("known_at") && plan.empty() &&
        ((!answer.ok() && answer.status().message().find("is unknown to the ledger") != std::string::npos) ||
         (answer.ok() && answer->is_object() && answer->value("account_status", "") == "unknown"))) {
      if (const std::string hint = view->UnknownAccountHint(account->second); !hint.empty()) {
        res.set_header("X-Ledger-Hint", Printable(hint, 300));
      }
    }
    if (!answer.ok()) return SendError(res, HttpStatusOf(answer.status()), answer.status().message());
    if (question.shape == Question::Shape::kList) {
      // A page cut by `limit` says so in every format (CSV and JSON lines carry the
      // items alone): the total, and the request for the next page.
      const int64_t total = (*answer)["total"].get<int64_t>();
      const int64_t next = (*answer)["offset"].get<int64_t>() + static_cast<int64_t>((*answer)["items"].size());
      res.set_header("X-Ledger-Total", std::to_string(total));
      if (next < total) res.set_header("Link", "<" + NextPage(req, next) + ">; rel=\"next\"");
    }
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
          [](const HttpRequest&, HttpResponse& res) { SendJson(res, 200, {{"status", "ok"}}); });
    // Whether questions can be answered now (a load balancer's readiness probe).
    Route("GET", "/readyz", "/readyz", std::nullopt, [this](const HttpRequest&, HttpResponse& res) {
      const Readiness r = actions.group ? actions.group->Ready() : Readiness{true, ""};
      if (!r.ready) res.set_header("Retry-After", "1");
      Json body{{"ready", r.ready}, {"instance", actions.instance}};
      if (!r.ready) body["why"] = r.why;
      SendJson(res, r.ready ? 200 : 503, body);
    });
    Route("GET", "/v1/openapi.json", "/v1/openapi.json", std::nullopt,
          [](const HttpRequest&, HttpResponse& res) { res.set_content(kOpenApiJson, "application/json"); });
    Route("GET", "/status", "/status", std::nullopt,
          [](const HttpRequest&, HttpResponse& res) { res.set_content(kStatusPageHtml, "text/html; charset=utf-8"); });
    Route("GET", "/v1/status", "/v1/status", Permission::kRead,
          [this](const HttpRequest&, HttpResponse& res) {
            if (!actions.status) return SendError(res, 503, "no projector in this process");
            Json status = actions.status();
            status["cases_open"] = metrics ? metrics->cases_open() : 0.0;
            status["cases_breached"] = metrics ? metrics->cases_breached() : 0.0;
            SendJson(res, 200, status);
          });
    for (const Question& q : Questions()) {
      Route("GET", RoutePattern(q.http_path), EndpointLabel(q.http_path), Permission::kRead,
            [this, &q](const HttpRequest& req, HttpResponse& res) { Answer(q, req, res); });
    }
    Route("POST", "/v1/events", "/v1/events", Permission::kPublish,
          [this](const HttpRequest& req, HttpResponse& res) {
            if (!actions.ingest) return SendError(res, 503, "ingest is not available in this process");
            auto result = actions.ingest(req.body);
            if (!result.ok()) return SendError(res, HttpStatusOf(result.status()), result.status().message());
            SendJson(res, 200, *result);
          });
    Route("POST", R"(/v1/admin/(checkpoint|dlq-replay|rebuild))", "/v1/admin", Permission::kAdmin,
          [this](const HttpRequest& req, HttpResponse& res) {
            if (!actions.admin) return SendError(res, 503, "admin actions are not available in this process");
            auto params = ParamsOf(req);
            if (!params.ok()) return SendError(res, 400, params.status().message());
            auto result = actions.admin(req.matches[1], *params);
            if (!result.ok()) return SendError(res, HttpStatusOf(result.status()), result.status().message());
            SendJson(res, 200, *result);
          });
  }
};

QueryServer::QueryServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<QueryServer>> QueryServer::Start(const QueryServerOptions& options, LedgerView* view,
                                                        ServerActions actions, prometheus::Registry* registry) {
  auto impl = std::make_unique<Impl>(options);
  impl->view = view;
  impl->actions = std::move(actions);
  if (registry != nullptr) impl->metrics = std::make_unique<HttpMetrics>(*registry);
  impl->Routes();

  HttpTransportOptions transport;
  const auto colon = options.listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidInput("--http-listen: \"" + options.listen + "\" is not host:port");
  transport.host = options.listen.substr(0, colon);
  try {
    transport.port = std::stoi(options.listen.substr(colon + 1));
  } catch (const std::exception&) {
    return Status::InvalidInput("--http-listen: \"" + options.listen + "\" has no port number");
  }
  transport.tls_cert_file = options.tls_cert_file;
  transport.tls_key_file = options.tls_key_file;
  transport.max_body_bytes = options.max_body_bytes;
  transport.io_timeout_seconds = options.io_timeout_seconds;
  transport.threads = options.threads;
  transport.max_connections = options.max_connections;
  transport.on_thread_start = AskForShortSlices;
  Impl* raw = impl.get();
  auto started = HttpTransport::Start(transport, [raw](const HttpRequest& req, HttpResponse& res) { raw->Dispatch(req, res); });
  if (!started.ok()) {
    if (started.status().code() == Status::Code::kUnavailable) {
      return Status::Unavailable(started.status().message() + " (in use? --http-listen picks another)");
    }
    return started.status();
  }
  impl->transport = std::move(*started);
  impl->port = impl->transport->port();
  impl->refreshing = std::thread([raw] {
    std::unique_lock lock(raw->mu);
    // The cases' gauges are counted over every case: at most every 10 s, at most 5% of a
    // core (a sample that took d seconds waits 20 d before the next), and not while the
    // projector catches up with a backlog (the counts would be of a partial state), unless
    // the last count is 5 minutes old.
    using SteadyClock = std::chrono::steady_clock;
    auto next_sample = SteadyClock::now();
    std::optional<SteadyClock::time_point> last_sample;
    while (!raw->stop_cv.wait_for(lock, std::chrono::seconds(1), [raw] { return raw->stopping; })) {
      (void)raw->view->RefreshReference();  // a failure keeps the data loaded before
      const auto now = SteadyClock::now();
      if (!raw->metrics || now < next_sample) continue;
      if (raw->actions.status && last_sample && now - *last_sample < std::chrono::minutes(5) &&
          raw->actions.status().value("lag", int64_t{0}) > kCatchingUpLag) {
        continue;
      }
      raw->SampleCases();
      last_sample = now;
      next_sample = now + std::max<SteadyClock::duration>(std::chrono::seconds(10), 20 * (SteadyClock::now() - now));
    }
  });
  return std::unique_ptr<QueryServer>(new QueryServer(std::move(impl)));
}

QueryServer::~QueryServer() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  impl_->transport.reset();  // stops serving first: no request runs after this
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
