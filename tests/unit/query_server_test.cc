// The HTTP API as a client sees it: a real server on a loopback port over a real store on
// disk (events applied by the real rules), a real HTTP client. Kafka-backed ingest and
// admin actions are exercised end to end in tests/e2e/newcomer.sh.
#include <gtest/gtest.h>
#include <httplib.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "ledger/http/query_server.h"
#include "ledger/http/tokens.h"
#include "ledger/queries/questions.h"
#include "ledger/kafka/partitioner.h"
#include "store_ledger.h"

namespace ledger {
namespace {

using test_support::StoreLedger;

class Http : public testing::Test {
 protected:
  void SetUp() override {
    l_ = std::make_unique<StoreLedger>(std::string("http-") +
                                       testing::UnitTest::GetInstance()->current_test_info()->name());
    l_->Apply("AccountOpened", "A", R"({"name":"Acme","region":"EMEA"})", "2024-01-01");
    l_->Apply("AgreementPurchased", "A",
              R"({"agreement_id":"AG-1","offering":"EssentialSupport","starts_at":"2025-01-01","ends_at":"2026-01-01",
                  "lines":[{"line_id":"L1","product":"db"}]})",
              "2024-12-01");
    for (int i = 0; i < 3; ++i) {
      l_->Apply("CourtesyGranted", "A",
                R"({"grant_id":"G)" + std::to_string(i) + R"(","product":"p","starts_at":"2025-01-01","ends_at":"2025-02-0)" +
                    std::to_string(i + 1) + R"(","reason":"a, \"quoted\" one"})",
                "2024-12-01");
    }
    tokens_path_ = std::filesystem::temp_directory_path() / ("ledger-http-tokens-" + std::to_string(::getpid()));
    std::filesystem::remove(tokens_path_);
    TokenFile file(tokens_path_);
    analyst_ = *file.Create("analyst", Role::kAnalyst, 1);
    publisher_ = *file.Create("publisher", Role::kPublisher, 1);
    operator_ = *file.Create("operator", Role::kOperator, 1);
    view_ = std::move(*LedgerView::Create(&l_->store()));
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove(tokens_path_);
  }
  void Start(QueryServerOptions o = {}, const std::function<void(ServerActions&)>& group = nullptr) {
    o.listen = "127.0.0.1:0";
    o.tokens_file = tokens_path_;
    ServerActions actions;
    actions.ingest = [](const std::string& body) -> Result<Json> { return Json{{"bytes", body.size()}}; };
    actions.status = [] { return Json{{"projected", 42}}; };
    if (group) group(actions);
    auto s = QueryServer::Start(o, view_.get(), actions, &registry_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  httplib::Result Get(const std::string& path, const std::string& token) {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return client_->Get(path.c_str(), h);
  }
  static Json Body(const httplib::Result& r) { return Json::parse(r->body); }

  std::unique_ptr<StoreLedger> l_;
  std::unique_ptr<LedgerView> view_;
  std::filesystem::path tokens_path_;
  std::string analyst_, publisher_, operator_;
  prometheus::Registry registry_;
  std::unique_ptr<QueryServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(Http, AnswersAreTheSameAsTheLibrarysAndNeedAReadToken) {
  Start();
  const std::string path = "/v1/entitlement?account=A&product=db&at=2025-06-01";
  auto ok = Get(path, analyst_);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(Body(ok), *view_->Ask({"entitlement", {{"account", "A"}, {"product", "db"}, {"at", "2025-06-01"}}}));
  EXPECT_EQ(Get(path, operator_)->status, 200);

  auto none = Get(path, "");
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Body(none)["status"], 401);
  EXPECT_EQ(none->body.find("Acme"), std::string::npos);  // nothing about the account
  EXPECT_EQ(none->body.find("AG-1"), std::string::npos);
  auto wrong = Get(path, "ldg_not-a-token");
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(Body(wrong)["error"], "the bearer token is unknown or revoked");
  auto publisher = Get(path, publisher_);
  EXPECT_EQ(publisher->status, 403);
  EXPECT_EQ(publisher->body.find("AG-1"), std::string::npos);

  // A token made just now works at once, even right after another request.
  const std::string fresh = *TokenFile(tokens_path_).Create("fresh", Role::kAnalyst, 3);
  EXPECT_EQ(Get(path, fresh)->status, 200);

  // Revoked: refused from the next request on (the server re-reads the file).
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(TokenFile(tokens_path_).Revoke("analyst", 2).ok());
  EXPECT_EQ(Get(path, analyst_)->status, 401);
  EXPECT_EQ(Get(path, operator_)->status, 200);
}

TEST_F(Http, TheBearerSchemeIsCaseInsensitive) {
  Start();
  for (const char* scheme : {"Bearer ", "bearer ", "BEARER "}) {
    auto r = client_->Get("/v1/entitlement?account=A&product=db", {{"Authorization", scheme + analyst_}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << scheme;
  }
  EXPECT_EQ(client_->Get("/v1/entitlement?account=A&product=db", {{"Authorization", "Basic " + analyst_}})->status, 401);
}

TEST_F(Http, BadRequestsGetAClearFourHundred) {
  Start();
  auto bad_date = Get("/v1/entitlement?account=A&product=db&at=2025-02-30", analyst_);
  EXPECT_EQ(bad_date->status, 400);
  EXPECT_NE(Body(bad_date)["error"].get<std::string>().find("day 30 does not exist"), std::string::npos);
  EXPECT_EQ(Get("/v1/entitlement?account=A", analyst_)->status, 400);
  EXPECT_EQ(Get("/v1/entitlement?account=A&product=db&colour=red", analyst_)->status, 400);
  EXPECT_EQ(Get("/v1/entitlement?account=A&product=db&product=x", analyst_)->status, 400);
  EXPECT_EQ(Get("/v1/case?account=A&case=NOPE", analyst_)->status, 404);
  EXPECT_EQ(Get("/v1/lists/everything", analyst_)->status, 404);
  EXPECT_EQ(Get("/v1/lists/open-cases?format=xml", analyst_)->status, 400);
  auto unknown = Get("/v2/whatever", analyst_);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(Body(unknown)["status"], 404);
  // An unknown account is an answer, not an error.
  auto nobody = Get("/v1/entitlement?account=NOBODY&product=db", analyst_);
  EXPECT_EQ(nobody->status, 200);
  EXPECT_EQ(Body(nobody)["account_status"], "unknown");
  EXPECT_FALSE(nobody->has_header("X-Ledger-Hint"));  // nothing close to it
  // A typo of a known id: named, beside the answer (which stays what was recorded).
  auto typo = Get("/v1/entitlement?account=B&product=db", analyst_);
  EXPECT_EQ(typo->status, 200);
  EXPECT_EQ(Body(typo)["account_status"], "unknown");
  EXPECT_EQ(typo->get_header_value("X-Ledger-Hint"), "did you mean A?");
  // Not UTF-8 in a parameter: still JSON out.
  auto binary = Get("/v1/entitlement?account=%FF%FE&product=db", analyst_);
  EXPECT_EQ(binary->status, 200);
  EXPECT_FALSE(Json::parse(binary->body, nullptr, false).is_discarded());
}

TEST_F(Http, ListsPageAndExportAsCsvAndJsonLines) {
  Start();
  auto page = Get("/v1/lists/grants-expiring?at=2025-01-15&within_days=30&limit=2&offset=1", analyst_);
  ASSERT_EQ(page->status, 200);
  EXPECT_EQ(Body(page)["total"], 3);
  EXPECT_EQ(Body(page)["items"].size(), 2u);
  EXPECT_EQ(Body(page)["items"][0]["grant"], "G1");
  // The positions the list reflects: each partition of the store and its last offset.
  const int p = KafkaPartitionOf("A", 4);
  EXPECT_EQ(page->get_header_value("X-Ledger-Position"),
            std::to_string(p) + ":" + std::to_string(l_->store().NextOffset(p)->value_or(0) - 1));
  auto csv = Get("/v1/lists/grants-expiring?at=2025-01-15&within_days=30&format=csv", analyst_);
  ASSERT_EQ(csv->status, 200);
  EXPECT_EQ(csv->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv->body.substr(0, csv->body.find('\n')), "account,account_name,grant,kind,product,version,ends_at,days_left");
  EXPECT_NE(csv->body.find("A,Acme,G0,courtesy,p,,2025-02-01T00:00:00Z,17\n"), std::string::npos);
  auto jsonl = Get("/v1/lists/grants-expiring?at=2025-01-15&within_days=30&format=jsonl", analyst_);
  int lines = 0;
  for (size_t at = 0; (at = jsonl->body.find('\n', at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, 3);
  EXPECT_EQ(Json::parse(jsonl->body.substr(0, jsonl->body.find('\n')))["grant"], "G0");
  // Never cut silently: a page says the total and where the rest is, in every format.
  EXPECT_EQ(csv->get_header_value("X-Ledger-Total"), "3");
  EXPECT_FALSE(csv->has_header("Link"));
  auto cut = Get("/v1/lists/grants-expiring?at=2025-01-15&within_days=30&format=csv&limit=2", analyst_);
  ASSERT_EQ(cut->status, 200);
  EXPECT_EQ(std::count(cut->body.begin(), cut->body.end(), '\n'), 3);  // the header and two rows
  EXPECT_EQ(cut->get_header_value("X-Ledger-Total"), "3");
  const std::string link = cut->get_header_value("Link");
  EXPECT_EQ(link, "</v1/lists/grants-expiring?at=2025-01-15&within_days=30&format=csv&limit=2&offset=2>; rel=\"next\"");
  auto rest = Get(link.substr(1, link.find('>') - 1), analyst_);
  ASSERT_EQ(rest->status, 200);
  EXPECT_EQ(std::count(rest->body.begin(), rest->body.end(), '\n'), 2);  // the header and the last row
  EXPECT_FALSE(rest->has_header("Link"));
}


// Read your writes: a question given min_position waits until the store has projected
// those offsets, or answers 503 with Retry-After once max_wait_ms has passed.
TEST_F(Http, MinPositionWaitsForTheWritersOffsetsOrAnswersRetryLater) {
  const int p = KafkaPartitionOf("A", 4);
  const int64_t next = l_->store().NextOffset(p)->value_or(0);
  ASSERT_GT(next, 0);
  Start();
  const std::string question = "/v1/entitlement?account=A&product=db&at=2025-06-01";
  const std::string here = std::to_string(p) + ":" + std::to_string(next - 1);
  auto reached = Get(question + "&min_position=" + here, analyst_);
  ASSERT_EQ(reached->status, 200) << reached->body;
  EXPECT_EQ(Body(reached)["entitled"], true);
  EXPECT_EQ(reached->get_header_value("X-Ledger-Position"), here);  // the position the answer reflects

  const std::string ahead = std::to_string(p) + ":" + std::to_string(next + 100);
  auto behind = Get(question + "&min_position=" + ahead + "&max_wait_ms=50", analyst_);
  ASSERT_EQ(behind->status, 503) << behind->body;
  EXPECT_EQ(behind->get_header_value("Retry-After"), "1");
  const std::string why = Body(behind)["error"];
  EXPECT_NE(why.find("partition " + std::to_string(p) + " is projected up to offset " + std::to_string(next - 1)),
            std::string::npos) << why;

  // Bad positions and waits are the caller's mistake.
  EXPECT_EQ(Get(question + "&min_position=A:1", analyst_)->status, 400);
  EXPECT_EQ(Get(question + "&min_position=" + here + "&max_wait_ms=20000", analyst_)->status, 400);
  EXPECT_EQ(Get(question + "&max_wait_ms=10", analyst_)->status, 400);

  // At most half of the answering threads wait: a third waiter is told to come back at
  // once, and a question without min_position is answered meanwhile.
  std::vector<std::thread> waiters;
  std::atomic<int> timed_out{0};
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&] {
      httplib::Client c("127.0.0.1", server_->port());
      auto r = c.Get(question + "&min_position=" + ahead + "&max_wait_ms=1500",
                     httplib::Headers{{"Authorization", "Bearer " + analyst_}});
      if (r && r->status == 503) ++timed_out;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto asked = std::chrono::steady_clock::now();
  auto third = Get(question + "&min_position=" + ahead + "&max_wait_ms=1500", analyst_);
  EXPECT_EQ(third->status, 503);
  EXPECT_NE(third->body.find("too many questions are waiting"), std::string::npos) << third->body;
  EXPECT_EQ(Get(question, analyst_)->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::milliseconds(1000));
  for (auto& w : waiters) w.join();
  EXPECT_EQ(timed_out.load(), 2);

  // Written while the question waits: answered as soon as it is projected.
  const std::string following = std::to_string(p) + ":" + std::to_string(next);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    l_->Apply("AccountSuspended", "A", R"({"reason":"unpaid"})", "2025-05-01");
  });
  auto waited = Get(question + "&min_position=" + following + "&max_wait_ms=5000", analyst_);
  writer.join();
  ASSERT_EQ(waited->status, 200) << waited->body;
  EXPECT_EQ(Body(waited)["entitled"], false);  // the suspension is in the answer
}

// In a projector group whose owner of the account's partition has gone silent (its
// address refuses connections) and this instance is its standby, 3 events behind: a
// question answers 503 until the owner's grace is over, unless it allows a standby with
// max_lag, which is then answered here at once, saying so.
TEST_F(Http, AQuestionAllowingAStandbyIsAnsweredByItWhenTheOwnerIsSilent) {
  int dead_port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    dead_port = ntohs(addr.sin_port);
    ::close(fd);  // nothing listens there now
  }
  InstanceAnnouncement owner;
  owner.instance = "b";
  owner.url = "http://127.0.0.1:" + std::to_string(dead_port);
  owner.owned = {0, 1, 2, 3};
  owner.partition_count = 4;
  LocalPartitions mine;
  mine.following = {0, 1, 2, 3};
  mine.partition_count = 4;
  mine.behind = {{0, 3}, {1, 3}, {2, 3}, {3, 3}};
  const GroupCredential secret = GroupCredential::FromSecret(std::string(32, 's'));
  GroupRouter router(
      "a", [&] { return mine; }, [&] { return Announcements{{"b", owner}}; }, {}, &secret);
  Start({}, [&](ServerActions& actions) {
    actions.instance = "a";
    actions.group = &router;
  });
  const std::string question = "/v1/entitlement?account=A&product=db&at=2025-06-01";
  auto refused = Get(question, analyst_);
  ASSERT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_NE(refused->body.find(owner.url), std::string::npos) << refused->body;
  auto waits = Get(question, analyst_);  // the owner is known to be silent: no second try
  EXPECT_EQ(waits->status, 503);
  EXPECT_NE(waits->body.find("hand-over"), std::string::npos) << waits->body;

  auto standby = Get(question + "&max_lag=10", analyst_);
  ASSERT_EQ(standby->status, 200) << standby->body;
  EXPECT_EQ(Body(standby), *view_->Ask({"entitlement", {{"account", "A"}, {"product", "db"}, {"at", "2025-06-01"}}}));
  EXPECT_EQ(standby->get_header_value("X-Ledger-Role"), "standby");
  EXPECT_EQ(standby->get_header_value("X-Ledger-Behind"), "3");
  EXPECT_EQ(standby->get_header_value("X-Ledger-Instance"), "a");
  EXPECT_FALSE(standby->get_header_value("X-Ledger-Position").empty());

  auto too_far = Get(question + "&max_lag=2", analyst_);
  EXPECT_EQ(too_far->status, 503);
  EXPECT_NE(too_far->body.find("3 events behind, more than max_lag=2"), std::string::npos) << too_far->body;
  auto bad = Get(question + "&max_lag=lots", analyst_);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("max_lag"), std::string::npos) << bad->body;
}

TEST_F(Http, IngestNeedsThePublisherRoleAndBoundedBodies) {
  QueryServerOptions o;
  o.max_body_bytes = 1024;
  Start(o);
  httplib::Headers h = {{"Authorization", "Bearer " + publisher_}};
  auto ok = client_->Post("/v1/events", h, "{}\n{}\n", "application/x-ndjson");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(Body(ok)["bytes"], 6);
  auto big = client_->Post("/v1/events", h, std::string(4096, 'x'), "application/x-ndjson");
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(client_->Post("/v1/events", {{"Authorization", "Bearer " + analyst_}}, "{}", "application/x-ndjson")->status,
            403);
  EXPECT_EQ(client_->Post("/v1/admin/checkpoint", {{"Authorization", "Bearer " + operator_}}, "", "text/plain")->status,
            503);  // no admin actions in this server
}

TEST_F(Http, ASlowClientDoesNotHoldUpOthers) {
  QueryServerOptions o;
  o.io_timeout_seconds = 1;
  Start(o);
  // A client that sends half a request and stalls.
  httplib::Client slow("127.0.0.1", server_->port());
  std::thread stalled([&] {
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/events";
    req.headers = {{"Authorization", "Bearer " + publisher_}, {"Content-Length", "100"}};
    req.body = "";  // announces 100 bytes, sends none
    auto r = slow.send(req);
    (void)r;
  });
  auto meanwhile = Get("/v1/entitlement?account=A&product=db&at=2025-06-01", analyst_);
  EXPECT_EQ(meanwhile->status, 200);
  stalled.join();
  EXPECT_EQ(Get("/healthz", "")->status, 200);
}

// A raw connection to the server, for what an HTTP client library would not send.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // Everything until the server closes the connection (or 5 s pass).
  std::string ReadAll() {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd_, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  int fd_;
  bool connected_ = false;
};

TEST_F(Http, ConnectionsThatSendTheirHeadersSlowlyDoNotTakeTheApiDown) {
  QueryServerOptions o;
  o.io_timeout_seconds = 2;
  o.threads = 2;
  Start(o);
  // 40 clients (more than there are threads, many times over) that send a header line
  // every half second and never finish their request.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 40; ++i) {
    slow.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(slow.back()->connected());
    slow.back()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  }
  std::atomic<bool> done{false};
  std::thread dripping([&] {
    for (int tick = 0; tick < 10 && !done; ++tick) {
      for (auto& c : slow) c->Send("X-Slow: " + std::to_string(tick) + "\r\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto start = std::chrono::steady_clock::now();
  auto health = Get("/healthz", "");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(health) << "no answer while 40 connections drip their headers";
  EXPECT_EQ(health->status, 200);
  EXPECT_LT(seconds, 1.0);
  EXPECT_EQ(Get("/v1/entitlement?account=A&product=db&at=2025-06-01", analyst_)->status, 200);
  // Each slow request gets the deadline for its whole headers, not per line: closed.
  const std::string left = slow.front()->ReadAll();
  done = true;
  dripping.join();
  EXPECT_EQ(left.find("200 OK"), std::string::npos) << left;
}

TEST_F(Http, PipelinedRequestsAreEachAnswered) {
  Start();
  RawConnection c(server_->port());
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string answers = c.ReadAll();
  size_t n = 0;
  for (size_t at = answers.find("HTTP/1.1 200"); at != std::string::npos; at = answers.find("HTTP/1.1 200", at + 1)) ++n;
  EXPECT_EQ(n, 3u) << answers.substr(0, 300);
}

TEST_F(Http, AdminRequestsAreInTheAuditLogWithTheTokensName) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("audit-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  Start();
  client_->Post("/v1/admin/rebuild", {{"Authorization", "Bearer " + operator_}}, "", "text/plain");
  client_->Post("/v1/admin/checkpoint?name=x", {{"Authorization", "Bearer " + analyst_}}, "", "text/plain");
  Get("/v1/entitlement?account=A&product=db", analyst_);
  spdlog::set_default_logger(previous);
  const std::string text = log.str();
  EXPECT_NE(text.find("audit: POST /v1/admin/rebuild by operator (operator): 503"), std::string::npos) << text;
  EXPECT_NE(text.find("audit: POST /v1/admin/checkpoint?name=x by analyst (analyst): 403"), std::string::npos) << text;
  EXPECT_EQ(text.find("/v1/entitlement"), std::string::npos) << text;  // only admin requests
}

TEST_F(Http, AFormBodyIsReadUpToTheBodyLimit) {
  Start();
  const std::string form = "name=" + std::string(10000, 'a');
  auto r = client_->Post("/v1/admin/checkpoint", {{"Authorization", "Bearer " + operator_}}, form,
                         "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;  // read (no admin actions in this server), not 413
  auto bad = client_->Post("/v1/admin/checkpoint", {{"Authorization", "Bearer " + operator_}}, "name=%zz",
                           "application/x-www-form-urlencoded");
  EXPECT_EQ(bad->status, 400);
}

// The threads of this process whose scheduler slice (in /proc) is `ns`.
int ThreadsWithSlice(uint64_t ns) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream sched(task.path() / "sched");
    for (std::string line; std::getline(sched, line);) {
      if (line.rfind("se.slice", 0) == 0 && std::stoull(line.substr(line.find(':') + 1)) == ns) ++n;
    }
  }
  return n;
}

TEST_F(Http, ServingThreadsAskForShortSchedulerSlices) {
  std::ifstream self("/proc/self/sched");
  const std::string text((std::istreambuf_iterator<char>(self)), std::istreambuf_iterator<char>());
  if (text.find("se.slice") == std::string::npos) GTEST_SKIP() << "this kernel has no custom slices (Linux < 6.12)";
  const int before = ThreadsWithSlice(100'000);
  QueryServerOptions o;
  o.threads = 3;
  Start(o);
  ASSERT_EQ(Get("/healthz", "")->status, 200);
  // Every serving thread, from its start (on a busy machine one may start after the
  // first answer).
  for (int i = 0; i < 100 && ThreadsWithSlice(100'000) < before + 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ThreadsWithSlice(100'000), before + 3);
}

TEST_F(Http, ServesTheOpenApiDocumentAndCountsRequests) {
  Start();
  auto doc = Get("/v1/openapi.json", "");
  ASSERT_EQ(doc->status, 200);
  const Json j = Body(doc);
  EXPECT_EQ(j["openapi"], "3.0.3");
  EXPECT_TRUE(j["paths"].contains("/v1/events"));
  for (const Question& q : Questions()) EXPECT_TRUE(j["paths"].contains(q.http_path)) << q.http_path;
  Get("/v1/entitlement?account=A&product=db", analyst_);
  Get("/v1/entitlement?account=A&product=db", "");
  const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
  EXPECT_NE(text.find(R"(ledger_http_requests_total{endpoint="/v1/entitlement",status="200"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(ledger_http_requests_total{endpoint="/v1/entitlement",status="401"} 1)"), std::string::npos);
  EXPECT_NE(text.find("ledger_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_EQ(text.find("account=\"A\""), std::string::npos);  // never an account label
}

TEST_F(Http, StatusAddsTheSampledCaseCountsToTheProjectorsProgress) {
  l_->Apply("ContactDesignated", "A", R"({"contact_id":"C1","name":"Ada"})", "2025-06-01");
  l_->Apply("CaseOpened", "A", R"({"case_id":"K1","contact_id":"C1","product":"db","severity":3})", "2025-06-02");
  Start();
  EXPECT_EQ(Get("/v1/status", "")->status, 401);
  Json status;
  for (int i = 0; i < 50; ++i) {  // the first sample is taken a second after the start
    status = Body(Get("/v1/status", analyst_));
    if (status["cases_open"] == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status["projected"], 42);
  EXPECT_EQ(status["cases_open"], 1) << status.dump();
  EXPECT_TRUE(status.contains("cases_breached"));
  const std::string text = prometheus::TextSerializer().Serialize(registry_.Collect());
  EXPECT_NE(text.find("ledger_cases_open 1"), std::string::npos) << text;
}

TEST_F(Http, ServesHttpsWhenACertificateIsConfigured) {
  const auto dir = std::filesystem::temp_directory_path() / ("ledger-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + key +
                          " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl is needed to make a test certificate";
  QueryServerOptions o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  Start(o);
  EXPECT_EQ(server_->url().rfind("https://", 0), 0u);
  httplib::SSLClient tls("127.0.0.1", server_->port());
  tls.enable_server_certificate_verification(false);
  auto r = tls.Get("/v1/entitlement?account=A&product=db&at=2025-06-01", {{"Authorization", "Bearer " + analyst_}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(Body(r)["entitled"]);
  EXPECT_FALSE(client_->Get("/healthz"));  // plain HTTP is not served
  QueryServerOptions broken;
  broken.tls_cert_file = (dir / "missing.pem").string();
  broken.tls_key_file = key;
  broken.listen = "127.0.0.1:0";
  EXPECT_FALSE(QueryServer::Start(broken, view_.get(), {}, nullptr).ok());
  std::filesystem::remove_all(dir);
}

// A projector group serving HTTPS: a question asked of one instance is forwarded to the
// owner over HTTPS, the owner's certificate checked against --peer-ca (by default the
// instance's own certificate, which a group may share); a certificate not trusted is a
// 503 naming the failure, never an answer from an unchecked peer.
TEST_F(Http, QuestionsAreForwardedOverHttpsToAnOwnerWhoseCertificateIsTrusted) {
  const auto dir = std::filesystem::temp_directory_path() / ("ledger-peer-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto make_cert = [&](const std::string& name) {
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
                            "subjectAltName=IP:127.0.0.1 -keyout " + (dir / (name + ".key")).string() + " -out " +
                            (dir / (name + ".pem")).string() + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  };
  ASSERT_TRUE(make_cert("group") && make_cert("other")) << "openssl is needed to make test certificates";
  QueryServerOptions tls;
  tls.listen = "127.0.0.1:0";
  tls.tokens_file = tokens_path_;
  tls.tls_cert_file = (dir / "group.pem").string();
  tls.tls_key_file = (dir / "group.key").string();
  // b owns every partition and hears no other: it answers what a forwards.
  const GroupCredential secret = GroupCredential::FromSecret(std::string(32, 's'));
  LocalPartitions all;
  all.owned = {0, 1, 2, 3};
  all.partition_count = 4;
  GroupRouter b_router("b", [&] { return all; }, [] { return Announcements(); }, {}, &secret);
  ServerActions owner_actions;
  owner_actions.instance = "b";
  owner_actions.group = &b_router;
  auto b = QueryServer::Start(tls, view_.get(), owner_actions, nullptr);
  ASSERT_TRUE(b.ok()) << b.status().message();
  InstanceAnnouncement owner;
  owner.instance = "b";
  owner.url = (*b)->url();
  owner.owned = {0, 1, 2, 3};
  owner.partition_count = 4;
  LocalPartitions mine;
  mine.partition_count = 4;
  auto others = [&] { return Announcements{{"b", owner}}; };
  GroupRouter trusting("a", [&] { return mine; }, others, {(dir / "group.pem").string()}, &secret);
  GroupRouter distrusting("a", [&] { return mine; }, others, {(dir / "other.pem").string()}, &secret);
  auto via = [&](GroupRouter& router) {
    return [&](ServerActions& actions) {
      actions.instance = "a";
      actions.group = &router;
    };
  };
  const std::string question = "/v1/entitlement?account=A&product=db&at=2025-06-01";
  auto ask = [&](int port) {
    httplib::SSLClient c("127.0.0.1", port);
    c.enable_server_certificate_verification(false);
    return c.Get(question.c_str(), {{"Authorization", "Bearer " + analyst_}});
  };

  Start(tls, via(trusting));
  auto forwarded = ask(server_->port());
  ASSERT_TRUE(forwarded);
  ASSERT_EQ(forwarded->status, 200) << forwarded->body;
  EXPECT_EQ(forwarded->get_header_value("X-Ledger-Instance"), "b");
  EXPECT_EQ(forwarded->get_header_value("X-Ledger-Forwarded-By"), "a");
  EXPECT_EQ(Json::parse(forwarded->body),
            *view_->Ask({"entitlement", {{"account", "A"}, {"product", "db"}, {"at", "2025-06-01"}}}));

  Start(tls, via(distrusting));
  auto refused = ask(server_->port());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_NE(refused->body.find("certificate is not trusted"), std::string::npos) << refused->body;
  EXPECT_NE(refused->body.find(owner.url), std::string::npos) << refused->body;

  // A key, not a certificate.
  Status bad = PeerClient::CheckTrusted((dir / "group.key").string(), "--peer-ca");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("--peer-ca"), std::string::npos) << bad.message();
  b->reset();
  std::filesystem::remove_all(dir);
}

// A question forwarded to another instance carries who asked (name and role, as this
// instance checked the token), signed with the group's secret, and never the token: a
// listener at the owner's address records what it receives. The owner, with a tokens
// file that lacks the caller's token, answers it; a client that sends the forwarding
// headers itself is checked like any other client.
TEST_F(Http, AForwardedQuestionCarriesTheCallersIdentityNeverItsToken) {
  const GroupCredential secret = GroupCredential::FromSecret(std::string(32, 's'));
  httplib::Server listener;
  std::mutex mu;
  httplib::Headers received;
  listener.Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    received = req.headers;
    res.set_content("{}", "application/json");
  });
  const int listener_port = listener.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { listener.listen_after_bind(); });
  while (!listener.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  InstanceAnnouncement owner;
  owner.instance = "b";
  owner.url = "http://127.0.0.1:" + std::to_string(listener_port);
  owner.owned = {0, 1, 2, 3};
  owner.partition_count = 4;
  LocalPartitions mine;
  mine.partition_count = 4;
  GroupRouter router("a", [&] { return mine; }, [&] { return Announcements{{"b", owner}}; }, {}, &secret);
  Start({}, [&](ServerActions& actions) {
    actions.instance = "a";
    actions.group = &router;
  });
  const std::string question = "/v1/entitlement?account=A&product=db&at=2025-06-01";
  ASSERT_EQ(Get(question, analyst_)->status, 200);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(received.count("Authorization"), 0u);
    for (const auto& [name, value] : received) EXPECT_EQ(value.find(analyst_), std::string::npos) << name;
    EXPECT_EQ(received.find("X-Ledger-Caller")->second, "analyst");
    EXPECT_EQ(received.find("X-Ledger-Caller-Role")->second, "analyst");
    EXPECT_EQ(received.find("X-Ledger-Forwarded")->second, "a");
    EXPECT_EQ(received.find("X-Ledger-Peer-Signature")->second.size(), 64u);
  }
  listener.stop();
  serving.join();

  // A real owner whose tokens file knows none of the callers: it trusts the signature.
  const auto other_tokens = std::filesystem::temp_directory_path() / ("ledger-http-b-" + std::to_string(::getpid()));
  std::filesystem::remove(other_tokens);
  { TokenFile file(other_tokens); ASSERT_TRUE(file.Create("someone", Role::kOperator, 1).ok()); }
  LocalPartitions all;
  all.owned = {0, 1, 2, 3};
  all.partition_count = 4;
  GroupRouter b_router("b", [&] { return all; }, [] { return Announcements(); }, {}, &secret);
  QueryServerOptions bo;
  bo.listen = "127.0.0.1:0";
  bo.tokens_file = other_tokens;
  ServerActions b_actions;
  b_actions.instance = "b";
  b_actions.group = &b_router;
  auto b = QueryServer::Start(bo, view_.get(), b_actions, nullptr);
  ASSERT_TRUE(b.ok()) << b.status().message();
  owner.url = (*b)->url();
  auto through_a = Get(question, analyst_);
  ASSERT_EQ(through_a->status, 200) << through_a->body;
  EXPECT_EQ(through_a->get_header_value("X-Ledger-Instance"), "b");
  EXPECT_EQ(through_a->get_header_value("X-Ledger-Role"), "owner");
  EXPECT_EQ(Body(through_a), *view_->Ask({"entitlement", {{"account", "A"}, {"product", "db"}, {"at", "2025-06-01"}}}));
  // A publisher may not ask: refused before anything is forwarded.
  EXPECT_EQ(Get(question, publisher_)->status, 403);

  // Forwarding headers sent by a client, without the group's signature: ignored.
  httplib::Client direct("127.0.0.1", (*b)->port());
  httplib::Headers forged{{"X-Ledger-Forwarded", "a"},
                          {"X-Ledger-Caller", "root"},
                          {"X-Ledger-Caller-Role", "operator"},
                          {"X-Ledger-Sent-At", std::to_string(NowMs())},
                          {"X-Ledger-Peer-Signature", std::string(64, '0')}};
  auto no_token = direct.Get(question.c_str(), forged);
  EXPECT_EQ(no_token->status, 401) << no_token->body;
  // Signed for another question: not this one.
  auto replayed = direct.Get("/v1/entitlement?account=A&product=other&at=2025-06-01", received);
  EXPECT_EQ(replayed->status, 401) << replayed->body;
  b->reset();
  server_.reset();
  std::filesystem::remove(other_tokens);
}

// An account's question waits only for its own partition's position: positions of
// partitions it does not read (another account's, from the same publish) are ignored.
TEST_F(Http, AQuestionWaitsOnlyForThePositionsOfThePartitionsItReads) {
  const int p = KafkaPartitionOf("A", 4);
  const int other = (p + 1) % 4;
  const int64_t next = l_->store().NextOffset(p)->value_or(0);
  ASSERT_GT(next, 0);
  LocalPartitions all;
  all.owned = {0, 1, 2, 3};
  all.partition_count = 4;
  GroupRouter router("a", [&] { return all; }, [] { return Announcements(); }, {});
  Start({}, [&](ServerActions& actions) {
    actions.instance = "a";
    actions.group = &router;
  });
  const std::string question = "/v1/entitlement?account=A&product=db&at=2025-06-01&max_wait_ms=10000&min_position=";
  const std::string positions = std::to_string(p) + ":" + std::to_string(next - 1) + "," + std::to_string(other) +
                                ":" + std::to_string(next + 1'000'000);
  auto answered = Get(question + positions, analyst_);
  ASSERT_EQ(answered->status, 200) << answered->body;
  EXPECT_EQ(answered->get_header_value("X-Ledger-Role"), "owner");
  // Its own partition ahead: still waited for (and not reached).
  auto ahead = Get("/v1/entitlement?account=A&product=db&at=2025-06-01&max_wait_ms=50&min_position=" +
                       std::to_string(p) + ":" + std::to_string(next + 1'000'000),
                   analyst_);
  EXPECT_EQ(ahead->status, 503) << ahead->body;
}

// /readyz: 503 saying why until the instance has joined its group and caught up with
// what it owns; /healthz says only that it lives.
TEST_F(Http, ReadinessSaysWhyAnInstanceCannotAnswerYet) {
  LocalPartitions local;
  GroupRouter router("a", [&] { return local; }, [] { return Announcements(); }, {});
  Start({}, [&](ServerActions& actions) {
    actions.instance = "a";
    actions.group = &router;
  });
  auto joining = Get("/readyz", "");
  EXPECT_EQ(joining->status, 503);
  EXPECT_NE(Body(joining)["why"].get<std::string>().find("not joined"), std::string::npos) << joining->body;
  EXPECT_EQ(Get("/healthz", "")->status, 200);
  auto question = Get("/v1/entitlement?account=A&product=db&at=2025-06-01", analyst_);
  EXPECT_EQ(question->status, 503);
  EXPECT_EQ(question->get_header_value("Retry-After"), "1");
  local.owned = {0, 1, 2, 3};
  local.partition_count = 4;
  local.restoring = {2};
  auto restoring = Get("/readyz", "");
  EXPECT_EQ(restoring->status, 503);
  EXPECT_NE(Body(restoring)["why"].get<std::string>().find("catching up"), std::string::npos) << restoring->body;
  local.restoring.clear();
  auto ready = Get("/readyz", "");
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_EQ(Body(ready)["ready"], true);
  server_.reset();
}

// Questions forwarded to another instance hold a thread while it answers: with those
// waiting for min_position they take at most half of the threads. With two forwarded to
// a slow owner, a third is told to come back, and /healthz and a question answered here
// are answered meanwhile.
TEST_F(Http, ForwardedQuestionsHoldAtMostHalfTheThreads) {
  const GroupCredential secret = GroupCredential::FromSecret(std::string(32, 's'));
  httplib::Server slow;
  std::atomic<bool> release{false};
  slow.Get(".*", [&](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 300 && !release.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    res.set_content("{}", "application/json");
  });
  const int port = slow.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { slow.listen_after_bind(); });
  while (!slow.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int here = KafkaPartitionOf("A", 4);
  InstanceAnnouncement owner;
  owner.instance = "b";
  owner.url = "http://127.0.0.1:" + std::to_string(port);
  for (int p = 0; p < 4; ++p) {
    if (p != here) owner.owned.push_back(p);
  }
  owner.partition_count = 4;
  LocalPartitions mine;
  mine.owned = {here};
  mine.partition_count = 4;
  GroupRouter router("a", [&] { return mine; }, [&] { return Announcements{{"b", owner}}; }, {}, &secret);
  Start({}, [&](ServerActions& actions) {
    actions.instance = "a";
    actions.group = &router;
  });
  std::string elsewhere;
  for (int i = 0; elsewhere.empty(); ++i) {
    if (KafkaPartitionOf("B" + std::to_string(i), 4) != here) elsewhere = "B" + std::to_string(i);
  }
  const std::string forwarded = "/v1/entitlement?account=" + elsewhere + "&product=db&at=2025-06-01";
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&] {
      httplib::Client c("127.0.0.1", server_->port());
      c.set_read_timeout(std::chrono::seconds(10));
      auto r = c.Get(forwarded, httplib::Headers{{"Authorization", "Bearer " + analyst_}});
      EXPECT_TRUE(r && r->status == 200);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto third = Get(forwarded, analyst_);
  EXPECT_EQ(third->status, 503) << third->body;
  EXPECT_NE(third->body.find("too many questions are waiting"), std::string::npos) << third->body;
  EXPECT_EQ(Get("/healthz", "")->status, 200);
  auto local = Get("/v1/entitlement?account=A&product=db&at=2025-06-01", analyst_);
  EXPECT_EQ(local->status, 200) << local->body;
  release = true;
  for (auto& t : holders) t.join();
  slow.stop();
  serving.join();
  server_.reset();
}

}  // namespace
}  // namespace ledger
