// HttpTransport over libcurl (OpenSSL): HTTPS with the cluster CA, client certificates,
// HTTP/1.1 keep-alive.
//
// Each request borrows a (multi, easy) handle pair from a small pool, so connections to the API
// server are reused across requests and threads without sharing one handle between threads.
// Transfers run through curl_multi_poll, and a stop request wakes the poll with
// curl_multi_wakeup: a watch blocked on a silent connection is cancelled at once, not at the
// next progress tick.
//
// TLS: the CA is the PEM bytes, else the file, else the system store; with a custom CA the
// system CA path is not consulted. Peer and host are verified unless insecure_skip_tls_verify.
//
// Errors: kTransport (connect, TLS, reset), kTimeout (connect_timeout or the request's timeout),
// kCancelled (stop requested). HTTP statuses are not errors here.
//
// Thread-safety: send() and stream() may be called from many threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kube/http_transport.h"
#include "kube/kube_config.h"

namespace berth::kube {

inline constexpr std::string_view kUserAgent = "berth/0.1";

struct CurlTransportOptions {
  std::string ca_pem;
  std::string ca_file;
  std::string client_cert_pem;
  std::string client_cert_file;
  std::string client_key_pem;
  std::string client_key_file;
  bool insecure_skip_tls_verify = false;
  std::chrono::milliseconds connect_timeout{10'000};
  std::string user_agent{kUserAgent};
  std::size_t max_idle_handles = 8;

  // The TLS settings of `config`.
  static CurlTransportOptions from_config(const KubeConfig& config);
};

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options);
  ~CurlTransport() override;

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  TransportResult<HttpResponse> send(const HttpRequest& request, std::stop_token stop) override;
  TransportResult<HttpResponse> stream(const HttpRequest& request, const BodyCallback& on_body,
                                       std::stop_token stop) override;

 private:
  struct Handle;

  TransportResult<HttpResponse> perform(const HttpRequest& request, const BodyCallback* on_body,
                                        std::stop_token stop);
  std::unique_ptr<Handle> take();
  void give_back(std::unique_ptr<Handle> handle);

  const CurlTransportOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;  // guarded by mu_
};

}  // namespace berth::kube
