#include "kube/status.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth::kube {
namespace {

std::string string_field(const nlohmann::json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// The first line of a non-Status body, bounded, so an HTML page does not flood a log line.
std::string first_line(std::string_view body) {
  constexpr std::size_t kMax = 200;
  auto end = body.find_first_of("\r\n");
  std::string_view line = body.substr(0, end);
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  if (line.size() > kMax) return fmt::format("{}...", line.substr(0, kMax));
  return std::string(line);
}

Error make(int http_status, const ApiStatus& status, std::string fallback) {
  Error e;
  e.http_status = http_status;
  e.code = error_code_for(http_status, status.reason);
  e.message = !status.message.empty() ? status.message : std::move(fallback);
  if (e.message.empty()) e.message = fmt::format("HTTP {}", http_status);
  return e;
}

}  // namespace

ApiStatus parse_status(const nlohmann::json& status) {
  ApiStatus out;
  if (!status.is_object()) return out;
  out.status = string_field(status, "status");
  out.reason = string_field(status, "reason");
  out.message = string_field(status, "message");
  auto it = status.find("code");
  if (it != status.end() && it->is_number_integer()) {
    auto code = it->get<std::int64_t>();
    if (code >= 0 && code < 1000) out.code = static_cast<int>(code);
  }
  return out;
}

ErrorCode error_code_for(int http_status, std::string_view reason) {
  switch (http_status) {
    case 401: return ErrorCode::kUnauthorized;
    case 403: return ErrorCode::kForbidden;
    case 404: return ErrorCode::kNotFound;
    case 409: return reason == "AlreadyExists" ? ErrorCode::kAlreadyExists : ErrorCode::kConflict;
    case 410: return ErrorCode::kGone;
    case 422: return ErrorCode::kInvalid;
    case 429: return ErrorCode::kTooManyRequests;
    default: break;
  }
  if (http_status >= 500 && http_status <= 599) return ErrorCode::kServerError;
  return ErrorCode::kHttpError;
}

Error error_from_response(int http_status, std::string_view body) {
  ApiStatus status;
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  // Not parsed.value("kind", ""): it throws when "kind" is there but not a string, and a body
  // may be anything a proxy or a broken server sends.
  if (parsed.is_object()) {
    auto kind = parsed.find("kind");
    if (kind != parsed.end() && kind->is_string() && kind->get_ref<const std::string&>() == "Status") {
      status = parse_status(parsed);
    }
  }
  return make(http_status, status, status.message.empty() ? first_line(body) : std::string());
}

Error error_from_status_object(const nlohmann::json& object) {
  ApiStatus status = parse_status(object);
  // A watch ERROR without a code is still an error; 500 makes it transient, which is the
  // safest reading for an answer we do not understand.
  int code = status.code != 0 ? status.code : 500;
  if (status.code == 0 && (status.reason == "Expired" || status.reason == "Gone")) code = 410;
  return make(code, status, std::string());
}

}  // namespace berth::kube
