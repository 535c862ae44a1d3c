// ApiClient over HTTP(S): rate limiting, bearer auth, retries, Status → Error mapping.
//
//   SystemClock& clock = SystemClock::instance();
//   auto config = resolve_config(flag, process_env());
//   CurlTransport transport(CurlTransportOptions::from_config(*config));
//   auto tokens = TokenSource::from_config(*config, clock);
//   RequestRateLimiter limiter(5, 10, clock);
//   RestClient client(*config, transport, *tokens, limiter, clock, RetryPolicy{});
//
// Every attempt takes a rate-limiter token and carries `Authorization: Bearer <token>` (when
// there is one). Retry rule (at most RetryPolicy::max_attempts attempts, exponential backoff with
// jitter between them):
//   - 429 and 503: always retried (the server did not process the request); Retry-After is
//     honoured, capped at RetryPolicy::max_retry_after.
//   - other 5xx and transport failures/timeouts: retried for GET, PUT and DELETE only. PUT is a
//     safe repeat because it carries a resourceVersion precondition. POST and PATCH are retried
//     after a transport failure only when the request certainly never reached the server
//     (DNS/connect/TLS failure), since the server may have applied them.
//   - 401: the token is re-read once and the request retried once (a rotated token).
//   - anything else: mapped to an Error (status.h) and returned.
// watch() is not retried (the reflector resumes from its last resourceVersion); a 401 to a
// watch re-reads the token before the error is returned, so the resumed watch uses the new one.
//
// shutdown() aborts retry sleeps and in-flight requests (kCancelled) so that a stopping process
// does not wait for a backoff.
//
// Thread-safety: all calls may be made from many threads at once (as ApiClient promises).
// Ownership: the transport, token source, rate limiter and clock must outlive the client.
#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <utility>

#include "common/backoff.h"
#include "common/clock.h"
#include "kube/api_client.h"
#include "kube/http_transport.h"
#include "kube/kube_config.h"
#include "kube/request_rate_limiter.h"
#include "kube/response_counter.h"
#include "kube/token_source.h"

namespace berth::kube {

struct RetryPolicy {
  int max_attempts = 5;  // including the first; 1 disables retries
  Backoff::Options backoff{};
  std::chrono::seconds max_retry_after{30};
  std::chrono::milliseconds request_timeout{30'000};
};

class RestClient final : public ApiClient {
 public:
  RestClient(KubeConfig config, HttpTransport& transport, TokenSource& tokens, RequestRateLimiter& limiter,
             Clock& clock, RetryPolicy policy = {});

  Result<nlohmann::json> get(const ResourceType& type, std::string_view ns, std::string_view name) override;
  Result<ListPage> list(const ResourceType& type, std::string_view ns, const ListOptions& options) override;
  Result<void> watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                     const WatchHandler& handler, std::stop_token stop) override;
  Result<nlohmann::json> create(const ResourceType& type, std::string_view ns, const nlohmann::json& object) override;
  Result<nlohmann::json> update(const ResourceType& type, std::string_view ns, std::string_view name,
                                const nlohmann::json& object) override;
  Result<nlohmann::json> patch(const ResourceType& type, std::string_view ns, std::string_view name,
                               PatchType patch_type, const nlohmann::json& patch) override;
  Result<void> remove(const ResourceType& type, std::string_view ns, std::string_view name) override;

  // Cancels retry sleeps and in-flight requests; later calls fail with kCancelled.
  void shutdown();

  const KubeConfig& config() const { return config_; }
  // What the API answered this client's attempts, by code (response_counter.h).
  const ResponseCounter& responses() const { return responses_; }

 private:
  Result<HttpResponse> execute(HttpRequest request);
  Result<nlohmann::json> execute_json(HttpRequest request);
  Result<void> add_auth(HttpRequest& request);

  const KubeConfig config_;
  HttpTransport& transport_;
  TokenSource& tokens_;
  RequestRateLimiter& limiter_;
  Clock& clock_;
  const RetryPolicy policy_;
  std::stop_source shutdown_;  // std::stop_source is thread-safe
  ResponseCounter responses_;
};

// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
std::string url_escape(std::string_view value);

// "?a=b&c=d" for the non-empty parameters of a LIST, "" when there are none.
std::string list_query(const ListOptions& options);
std::string watch_query(const WatchOptions& options);

// The Content-Type for a PATCH body.
std::string_view patch_content_type(PatchType type);

// Splits a watch stream into lines across chunk boundaries. Thread-safety: one owner.
class LineSplitter {
 public:
  // Calls `on_line` for every complete line in `chunk` (without "\n" or "\r"; empty lines are
  // skipped). Stops and returns false as soon as `on_line` returns false.
  template <class F>
  bool feed(std::string_view chunk, F&& on_line);
  // The unterminated rest at end of stream (may be empty).
  std::string take_rest() { return std::exchange(buffer_, std::string()); }
  std::size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

template <class F>
bool LineSplitter::feed(std::string_view chunk, F&& on_line) {
  buffer_.append(chunk);
  std::size_t start = 0;
  bool keep_going = true;
  while (keep_going) {
    auto nl = buffer_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(buffer_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = nl + 1;
    if (!line.empty()) keep_going = on_line(line);
  }
  buffer_.erase(0, start);
  return keep_going;
}

}  // namespace berth::kube
