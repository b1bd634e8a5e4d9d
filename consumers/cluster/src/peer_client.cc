#include "ledger/cluster/peer_client.h"

#include <httplib.h>

#include <memory>

#include "ledger/cluster/instance_directory.h"

namespace ledger {

Status PeerClient::CheckTrusted(const std::string& path, const std::string& flag) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), path.c_str(), nullptr) != 1) {
    ERR_clear_error();
    return Status::InvalidInput(flag + ": " + path + " holds no PEM certificate to trust");
  }
  return Status::Ok();
}

Result<PeerAnswer> PeerClient::Get(const std::string& url, const PeerRequest& request) {
  // One kept-alive connection per serving thread and instance: no TCP handshake per
  // question.
  thread_local std::map<std::pair<const PeerClient*, std::string>, std::unique_ptr<httplib::Client>> clients;
  auto& client = clients[{this, url}];
  if (!client) {
    client = std::make_unique<httplib::Client>(url);
    if (url.rfind("https://", 0) == 0) {
      if (!options_.trusted_ca_file.empty()) client->set_ca_cert_path(options_.trusted_ca_file.c_str());
      client->enable_server_certificate_verification(true);
    }
    client->set_keep_alive(true);
    client->set_connection_timeout(1);
    client->set_read_timeout(options_.read_timeout);
  }
  httplib::Params params(request.params.begin(), request.params.end());
  httplib::Headers headers(request.headers.begin(), request.headers.end());
  auto answer = client->Get(request.path, params, headers);
  if (!answer) {
    const httplib::Error error = answer.error();
    clients.erase({this, url});  // connect afresh next time
    MarkUnreachable(url);
    return Status::Unavailable("the instance answering for this partition (" + url + ") did not answer: " +
                               (error == httplib::Error::SSLServerVerification
                                    ? "its certificate is not trusted (--peer-ca)"
                                    : httplib::to_string(error)) +
                               "; ask again");
  }
  PeerAnswer out;
  out.status = answer->status;
  out.body = std::move(answer->body);
  for (const char* h : {"Content-Type", "X-Ledger-Instance", "X-Ledger-Role", "X-Ledger-Behind", "X-Ledger-Position",
                        "Retry-After"}) {
    if (answer->has_header(h)) out.headers[h] = answer->get_header_value(h);
  }
  return out;
}

std::set<std::string> PeerClient::Unreachable() {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  const auto now = std::chrono::steady_clock::now();
  for (auto it = unreachable_.begin(); it != unreachable_.end();) {
    if (now - it->second > InstanceDirectory::kStaleAfter) {
      it = unreachable_.erase(it);
    } else {
      out.insert((it++)->first);
    }
  }
  return out;
}

void PeerClient::MarkUnreachable(const std::string& url) {
  std::lock_guard lock(mu_);
  unreachable_[url] = std::chrono::steady_clock::now();
}

}  // namespace ledger
