// A minimal HTTPS client for tests (libcurl): one request with a bearer token and a CA given as
// PEM text, or a streamed response read line by line (watches). Certificates are verified.
//
// Thread-safety: free functions; concurrent calls are independent.
#pragma once

#include <functional>
#include <map>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth::testing {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::string content_type = "application/json";
  std::string token;   // "" = no Authorization header
  std::string ca_pem;  // the CA to trust
  long timeout_ms = 30000;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

// Errors: kTransport/kTimeout when no HTTP answer arrived; any HTTP status is a success here.
Result<HttpResponse> https_request(const HttpRequest& request);

// Streams the response body, calling on_line for every complete line (no newline); returning
// false from on_line or a stop request ends the transfer early (still a success). The body in
// the returned response is empty. request.timeout_ms bounds the whole transfer.
Result<HttpResponse> https_stream_lines(const HttpRequest& request,
                                        const std::function<bool(std::string_view line)>& on_line,
                                        std::stop_token stop = {});

}  // namespace berth::testing
