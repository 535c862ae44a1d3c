// The HTTP seam under RestClient: one request, one answer. CurlTransport (curl_transport.h)
// implements it; tests may script it.
//
// A transport does no retries, no auth and no status-code interpretation: a 500 is a successful
// send() with status 500. It fails only when there is no HTTP answer at all.
//
// Thread-safety: implementations are safe to use from many threads at once.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace berth::kube {

// Header fields in arrival order; names compare case-insensitively.
class HttpHeaders {
 public:
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  // The first value of `name`, or nullopt.
  std::optional<std::string> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  void clear() { fields_.clear(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute: "https://host:port/api/v1/..."
  HttpHeaders headers;
  std::string body;
  // Whole-request limit; zero means none (watches: the server ends them, and the stop token
  // or `timeout` set by the caller bounds them).
  std::chrono::milliseconds timeout{0};
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;  // for stream(): only a non-2xx answer's body is collected here

  // Retry-After in seconds (the delta-seconds form only), or nullopt.
  std::optional<std::chrono::seconds> retry_after() const;
};

struct TransportError {
  Error error;  // kTransport, kTimeout or kCancelled
  // False only when the request certainly never left this process (DNS or connect failure,
  // TLS handshake failure): then even a non-idempotent request may be retried.
  bool may_have_reached_server = true;
};

template <class T>
using TransportResult = std::expected<T, TransportError>;

// Receives the body of a 2xx answer piece by piece; return false to end the transfer early
// (stream() then succeeds).
using BodyCallback = std::function<bool(std::string_view chunk)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Sends the request and reads the whole answer. A stop request aborts it (kCancelled).
  virtual TransportResult<HttpResponse> send(const HttpRequest& request, std::stop_token stop) = 0;

  // Like send(), but a 2xx body goes to `on_body` as it arrives instead of into the response.
  virtual TransportResult<HttpResponse> stream(const HttpRequest& request, const BodyCallback& on_body,
                                               std::stop_token stop) = 0;
};

}  // namespace berth::kube
