#include "http_transport.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <optional>
#include <thread>

namespace ledger {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding (and '+' as a space where `plus_is_space`); nullopt for a bad escape.
std::optional<std::string> Decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// name=value&... into `out`; false on a bad escape.
bool ParseForm(std::string_view s, std::vector<std::pair<std::string, std::string>>& out) {
  while (!s.empty()) {
    const size_t amp = s.find('&');
    const std::string_view pair = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view() : s.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = Decode(pair.substr(0, eq), true);
    auto value = Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) return false;
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return true;
}

// The request as the handler sees it; nullopt (and `why`) if its target cannot be read.
std::optional<HttpRequest> ToRequest(BeastRequest&& in, std::string* why) {
  HttpRequest r;
  r.method = std::string(in.method_string());
  const std::string_view target(in.target().data(), in.target().size());
  const size_t q = target.find('?');
  auto path = Decode(target.substr(0, q), false);
  if (!path || path->empty() || (*path)[0] != '/') {
    *why = "the request target is not a path";
    return std::nullopt;
  }
  r.path = std::move(*path);
  if (q != std::string_view::npos && !ParseForm(target.substr(q + 1), r.params)) {
    *why = "the query string has a bad %-escape";
    return std::nullopt;
  }
  for (const auto& field : in) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    r.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  r.body = std::move(in.body());
  if (r.method == "POST" && r.header("content-type").rfind("application/x-www-form-urlencoded", 0) == 0 &&
      !ParseForm(r.body, r.params)) {
    *why = "the form body has a bad %-escape";
    return std::nullopt;
  }
  return r;
}

BeastResponse ToBeast(HttpResponse&& in, unsigned version, bool keep_alive) {
  BeastResponse out{static_cast<http::status>(in.status), version};
  out.set(http::field::content_type, in.content_type.empty() ? "application/json" : in.content_type);
  for (auto& [name, value] : in.headers) out.set(name, value);
  out.body() = std::move(in.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

}  // namespace

std::string HttpRequest::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

std::string ErrorBody(int status, const std::string& message) {
  return nlohmann::json{{"error", message}, {"status", status}}.dump(-1, ' ', false,
                                                                    nlohmann::json::error_handler_t::replace) +
         "\n";
}

struct HttpTransport::Impl {
  // In this order: the sessions, which the io_context destroys, use the others.
  HttpTransportOptions options;
  Handler handler;
  std::atomic<size_t> connections{0};
  std::optional<asio::ssl::context> tls;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (connections.load() >= options.max_connections) {
          beast::error_code ignored;
          socket.close(ignored);  // over the bound: refused at once
        } else if (tls) {
          std::make_shared<TlsSession>(this, std::move(socket))->Run();
        } else {
          std::make_shared<PlainSession>(this, std::move(socket))->Run();
        }
      }
      Accept();
    });
  }

  // One connection: read a request within the deadline, answer it, again while the
  // client keeps the connection alive. Stream is beast::tcp_stream or its TLS stream.
  template <class Derived>
  class Session : public std::enable_shared_from_this<Derived> {
   public:
    explicit Session(Impl* server) : server_(server) { ++server_->connections; }
    ~Session() { --server_->connections; }

   protected:
    Derived& self() { return static_cast<Derived&>(*this); }
    std::chrono::seconds timeout() const { return std::chrono::seconds(server_->options.io_timeout_seconds); }

    void Read() {
      parser_.emplace();
      parser_->body_limit(server_->options.max_body_bytes);
      parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
      // One deadline for the whole request, headers and body, and for an idle connection.
      beast::get_lowest_layer(self().stream()).expires_after(timeout());
      http::async_read(self().stream(), buffer_, *parser_,
                       [s = this->shared_from_this()](beast::error_code ec, size_t) { s->OnRead(ec); });
    }

    void OnRead(beast::error_code ec) {
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof) {
        return self().Close();
      }
      if (ec == http::error::body_limit) return Fail(413, "the request body is too large");
      if (ec == http::error::header_limit) return Fail(431, "the request's headers are too large");
      if (ec) return Fail(400, "the request could not be read (" + ec.message() + ")");
      BeastRequest request = parser_->release();
      const unsigned version = request.version();
      const bool keep_alive = request.keep_alive();
      std::string why;
      auto r = ToRequest(std::move(request), &why);
      HttpResponse response;
      if (!r) {
        response.status = 400;
        response.set_content(ErrorBody(400, why), "application/json");
      } else {
        try {
          server_->handler(*r, response);
        } catch (const std::exception&) {
          response = HttpResponse();
          response.status = 500;
          response.set_content(ErrorBody(500, "internal error"), "application/json");
        }
      }
      Write(ToBeast(std::move(response), version, keep_alive && r.has_value()), keep_alive && r.has_value());
    }

    void Write(BeastResponse response, bool keep_alive) {
      auto message = std::make_shared<BeastResponse>(std::move(response));
      beast::get_lowest_layer(self().stream()).expires_after(timeout());
      http::async_write(self().stream(), *message,
                        [s = this->shared_from_this(), message, keep_alive](beast::error_code ec, size_t) {
                          if (ec || !keep_alive) return s->self().Close();
                          s->Read();  // the next request, pipelined or not
                        });
    }

    // Answers a request that could not be read, then closes the connection.
    void Fail(int status, const std::string& message) {
      HttpResponse response;
      response.status = status;
      response.set_content(ErrorBody(status, message), "application/json");
      Write(ToBeast(std::move(response), 11, false), false);
    }

    Impl* server_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
  };

  class PlainSession : public Session<PlainSession> {
   public:
    PlainSession(Impl* server, tcp::socket socket) : Session(server), stream_(std::move(socket)) {}
    void Run() {
      beast::error_code ignored;
      stream_.socket().set_option(tcp::no_delay(true), ignored);  // small answers leave at once
      asio::dispatch(stream_.get_executor(), [s = shared_from_this()] { s->Read(); });
    }
    beast::tcp_stream& stream() { return stream_; }
    void Close() {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.expires_after(std::chrono::seconds(1));  // once: a dripping client cannot extend it
      Drain();
    }

   private:
    // After a last answer, reads (and drops) what the client still sends, for at most a
    // second and 64 KiB, so that closing with unread bytes does not reset the connection
    // before the client has read the answer.
    void Drain() {
      stream_.async_read_some(asio::buffer(drain_), [s = shared_from_this()](beast::error_code ec, size_t n) {
        s->drained_ += n;
        if (!ec && s->drained_ < 64 * 1024) return s->Drain();
        beast::error_code ignored;
        s->stream_.socket().close(ignored);
      });
    }
    beast::tcp_stream stream_;
    char drain_[4096];
    size_t drained_ = 0;
  };

  class TlsSession : public Session<TlsSession> {
   public:
    TlsSession(Impl* server, tcp::socket socket) : Session(server), stream_(std::move(socket), *server->tls) {}
    void Run() {
      asio::dispatch(stream_.get_executor(), [s = shared_from_this()] {
        beast::error_code ignored;
        beast::get_lowest_layer(s->stream_).socket().set_option(tcp::no_delay(true), ignored);
        beast::get_lowest_layer(s->stream_).expires_after(s->timeout());
        s->stream_.async_handshake(asio::ssl::stream_base::server, [s](beast::error_code ec) {
          if (!ec) s->Read();
        });
      });
    }
    beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
    void Close() {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(1));
      stream_.async_shutdown([s = shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(s->stream_).socket().close(ignored);
      });
    }

   private:
    beast::ssl_stream<beast::tcp_stream> stream_;
  };
};

HttpTransport::HttpTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpTransport>> HttpTransport::Start(const HttpTransportOptions& options, Handler handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return Status::InvalidInput("TLS needs both a certificate and a key file");
    }
    impl->tls.emplace(asio::ssl::context::tls_server);
    beast::error_code ec;
    impl->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                               asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                               asio::ssl::context::no_tlsv1_1,
                           ec);
    impl->tls->use_certificate_chain_file(options.tls_cert_file, ec);
    if (!ec) impl->tls->use_private_key_file(options.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return Status::InvalidInput("cannot use the TLS certificate " + options.tls_cert_file + " and key " +
                                  options.tls_key_file + ": " + ec.message());
    }
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) return Status::InvalidInput("\"" + options.host + "\" is not an IP address");
  const tcp::endpoint endpoint{address, static_cast<unsigned short>(options.port)};
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + options.host + ":" + std::to_string(options.port) + " (" +
                               ec.message() + ")");
  }
  impl->Accept();
  Impl* raw = impl.get();
  for (size_t i = 0; i < std::max<size_t>(1, options.threads); ++i) {
    raw->threads.emplace_back([raw] {
      if (raw->options.on_thread_start) raw->options.on_thread_start();
      raw->io.run();
    });
  }
  return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(impl)));
}

HttpTransport::~HttpTransport() {
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
}

int HttpTransport::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace ledger
