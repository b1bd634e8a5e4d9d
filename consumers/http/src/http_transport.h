// The HTTP/1.1 transport under the API: Boost.Beast on Asio, asynchronous, so that a
// connection holds a thread only while its request is being answered. Each request must
// arrive whole (headers and body) within a deadline, an idle kept-alive connection is
// closed after the same time, the number of connections is bounded, and pipelined
// requests are answered in order. TLS when a certificate is given. What to answer is
// the handler's business: the transport knows no route.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ledger/base/status.h"

namespace ledger {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query
  // The query's parameters, then those of an application/x-www-form-urlencoded body,
  // percent-decoded, in order.
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::vector<std::string> matches;  // set by the router: the path's regex groups

  // The first header of that (lower-case) name; empty if none.
  std::string header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;

  void set_content(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
  // Sets a header, replacing one of that name set before.
  void set_header(std::string name, std::string value) {
    for (auto& [n, v] : headers) {
      if (n == name) {
        v = std::move(value);
        return;
      }
    }
    headers.emplace_back(std::move(name), std::move(value));
  }
  // The header of that name (as set); empty if none.
  std::string header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
};

struct HttpTransportOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  std::string tls_cert_file, tls_key_file;  // both set: HTTPS only
  size_t max_body_bytes = 8u << 20;         // a larger body gets 413
  size_t max_header_bytes = 16u << 10;      // larger headers get 431
  int io_timeout_seconds = 10;  // to receive a whole request, to send an answer, and idle
  size_t threads = 4;           // answering at the same time
  size_t max_connections = 1024;  // more are closed at once
  std::function<void()> on_thread_start;  // called first in each serving thread
};

class HttpTransport {
 public:
  using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;
  // Answers every request it could read with `handler` (an exception becomes a 500); a
  // request it could not read gets 400, 413 or 431 with {"error", "status"}, and the
  // connection is closed. Binds at once; fails (Unavailable) if the address is taken,
  // (InvalidInput) if the certificate cannot be used.
  static Result<std::unique_ptr<HttpTransport>> Start(const HttpTransportOptions& options, Handler handler);
  ~HttpTransport();  // stops serving, closes every connection, joins its threads

  int port() const;

 private:
  struct Impl;
  explicit HttpTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The JSON body of an error answer: {"error": message, "status": status}.
std::string ErrorBody(int status, const std::string& message);

}  // namespace ledger
