#include "kube/curl_transport.h"

#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

namespace berth::kube {

struct CurlTransport::Handle {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  Handle() : multi(curl_multi_init()), easy(curl_easy_init()) {}
  ~Handle() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* easy = nullptr;
  HttpResponse response;
  const BodyCallback* on_body = nullptr;
  bool stopped_by_callback = false;
  long status = -1;  // read once, when the first body byte arrives
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new status line (after a 100 Continue): forget the interim answer's fields.
    t->response.headers.clear();
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    t->response.headers.add(std::string(line.substr(0, colon)), std::string(value));
  }
  return size * count;
}

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t n = size * count;
  if (t->status < 0) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
  if (t->on_body != nullptr && t->status >= 200 && t->status < 300) {
    if (!(*t->on_body)(std::string_view(data, n))) {
      t->stopped_by_callback = true;
      return 0;  // makes curl end the transfer with CURLE_WRITE_ERROR
    }
    return n;
  }
  t->response.body.append(data, n);
  return n;
}

void set_blob(CURL* easy, CURLoption option, const std::string& bytes) {
  curl_blob blob{const_cast<char*>(bytes.data()), bytes.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, option, &blob);
}

bool never_sent(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_URL_MALFORMAT:
      return true;
    default:
      return false;
  }
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

CurlTransportOptions CurlTransportOptions::from_config(const KubeConfig& config) {
  CurlTransportOptions o;
  o.ca_pem = config.ca_pem;
  o.ca_file = config.ca_file;
  o.client_cert_pem = config.client_cert_pem;
  o.client_cert_file = config.client_cert_file;
  o.client_key_pem = config.client_key_pem;
  o.client_key_file = config.client_key_file;
  o.insecure_skip_tls_verify = config.insecure_skip_tls_verify;
  return o;
}

CurlTransport::CurlTransport(CurlTransportOptions options) : options_(std::move(options)) { global_init(); }

CurlTransport::~CurlTransport() = default;

std::unique_ptr<CurlTransport::Handle> CurlTransport::take() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  if (h->multi == nullptr || h->easy == nullptr) return nullptr;
  return h;
}

void CurlTransport::give_back(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle_handles) idle_.push_back(std::move(handle));
}

TransportResult<HttpResponse> CurlTransport::send(const HttpRequest& request, std::stop_token stop) {
  return perform(request, nullptr, std::move(stop));
}

TransportResult<HttpResponse> CurlTransport::stream(const HttpRequest& request, const BodyCallback& on_body,
                                                    std::stop_token stop) {
  return perform(request, &on_body, std::move(stop));
}

TransportResult<HttpResponse> CurlTransport::perform(const HttpRequest& request, const BodyCallback* on_body,
                                                     std::stop_token stop) {
  auto fail = [&](ErrorCode code, std::string message, bool reached) {
    return std::unexpected(TransportError{Error{code, std::move(message), 0}, reached});
  };
  if (stop.stop_requested()) return fail(ErrorCode::kCancelled, "request cancelled", false);
  auto handle = take();
  if (!handle) return fail(ErrorCode::kInternal, "curl handle allocation failed", false);
  CURL* e = handle->easy;
  // Reset drops every per-request option but keeps the multi handle's live connections.
  curl_easy_reset(e);

  Transfer t;
  t.easy = e;
  t.on_body = on_body;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  if (request.timeout.count() > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);

  if (options_.insecure_skip_tls_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  if (!options_.ca_pem.empty() || !options_.ca_file.empty()) {
    // Only the cluster's CA: a public CA must not vouch for the API server.
    curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);
    if (!options_.ca_pem.empty()) {
      set_blob(e, CURLOPT_CAINFO_BLOB, options_.ca_pem);
    } else {
      curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
    }
  }
  if (!options_.client_cert_pem.empty()) {
    set_blob(e, CURLOPT_SSLCERT_BLOB, options_.client_cert_pem);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!options_.client_cert_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, options_.client_cert_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!options_.client_key_pem.empty()) {
    set_blob(e, CURLOPT_SSLKEY_BLOB, options_.client_key_pem);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!options_.client_key_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLKEY, options_.client_key_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }

  if (request.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "POST" || !request.body.empty()) {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
    }
  }

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto append = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  bool has_accept = false;
  for (const auto& [name, value] : request.headers.fields()) {
    if (strcasecmp(name.c_str(), "Accept") == 0) has_accept = true;
    append(fmt::format("{}: {}", name, value));
  }
  if (!has_accept) append("Accept: application/json");
  append("Expect:");  // no 100-continue round trip for request bodies
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());

  CURLM* m = handle->multi;
  curl_multi_add_handle(m, e);
  bool cancelled = false;
  CURLcode result = CURLE_OK;
  {
    std::stop_callback wake(stop, [m] { curl_multi_wakeup(m); });
    int running = 1;
    while (true) {
      CURLMcode mc = curl_multi_perform(m, &running);
      if (mc != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        std::snprintf(error_buffer, sizeof(error_buffer), "%s", curl_multi_strerror(mc));
        break;
      }
      if (running == 0) {
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(m, &queued)) {
          if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) result = msg->data.result;
        }
        break;
      }
      if (stop.stop_requested()) {
        cancelled = true;
        break;
      }
      // curl shortens the wait to its own timers (timeouts, keep-alive); a stop wakes it at once.
      curl_multi_poll(m, nullptr, 0, 5000, nullptr);
    }
  }
  curl_multi_remove_handle(m, e);
  curl_off_t pretransfer = 0;
  curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, nullptr);
  std::string detail = error_buffer[0] != '\0' ? std::string(error_buffer) : std::string(curl_easy_strerror(result));
  give_back(std::move(handle));

  if (cancelled) return fail(ErrorCode::kCancelled, fmt::format("{} {}: cancelled", request.method, request.url), true);
  if (t.stopped_by_callback) result = CURLE_OK;
  if (result != CURLE_OK) {
    bool reached = !never_sent(result) && pretransfer > 0;
    ErrorCode code = result == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kTransport;
    return fail(code, fmt::format("{} {}: {}", request.method, request.url, detail), reached);
  }
  t.response.status = static_cast<int>(status);
  return std::move(t.response);
}

}  // namespace berth::kube
