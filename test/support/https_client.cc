#include "support/https_client.h"

#include <algorithm>
#include <cctype>
#include <memory>

#include <curl/curl.h>

namespace berth::testing {
namespace {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Transfer {
  HttpResponse response;
  std::string pending;
  const std::function<bool(std::string_view)>* on_line = nullptr;
  std::stop_token stop;
  bool stopped_by_caller = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    t->response.headers[name] = std::string(value);
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->on_line == nullptr) {
    t->response.body.append(data, size * count);
    return size * count;
  }
  t->pending.append(data, size * count);
  std::size_t nl;
  while ((nl = t->pending.find('\n')) != std::string::npos) {
    std::string line = t->pending.substr(0, nl);
    t->pending.erase(0, nl + 1);
    if (!(*t->on_line)(line)) {
      t->stopped_by_caller = true;
      return 0;  // aborts the transfer
    }
  }
  return size * count;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->stop.stop_requested()) {
    t->stopped_by_caller = true;
    return 1;
  }
  return 0;
}

Result<HttpResponse> perform(const HttpRequest& request, Transfer& transfer) {
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return make_error(ErrorCode::kInternal, "curl_easy_init failed");
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add_header = [&](const std::string& h) { headers.reset(curl_slist_append(headers.release(), h.c_str())); };
  if (!request.token.empty()) add_header("Authorization: Bearer " + request.token);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    add_header("Content-Type: " + request.content_type);
  }
  add_header("Accept: application/json");

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (!request.body.empty() || request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  if (request.method == "GET") curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_blob ca{const_cast<char*>(request.ca_pem.data()), request.ca_pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, request.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);

  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  if (rc != CURLE_OK && !transfer.stopped_by_caller) {
    auto code = rc == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kTimeout : ErrorCode::kTransport;
    return make_error(code, std::string("curl: ") + curl_easy_strerror(rc));
  }
  return std::move(transfer.response);
}

}  // namespace

Result<HttpResponse> https_request(const HttpRequest& request) {
  Transfer transfer;
  return perform(request, transfer);
}

Result<HttpResponse> https_stream_lines(const HttpRequest& request,
                                        const std::function<bool(std::string_view line)>& on_line,
                                        std::stop_token stop) {
  Transfer transfer;
  transfer.on_line = &on_line;
  transfer.stop = std::move(stop);
  return perform(request, transfer);
}

}  // namespace berth::testing
