#include "common/error.h"

#include <fmt/format.h>

namespace berth {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kParse: return "Parse";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kAlreadyExists: return "AlreadyExists";
    case ErrorCode::kConflict: return "Conflict";
    case ErrorCode::kGone: return "Gone";
    case ErrorCode::kInvalid: return "Invalid";
    case ErrorCode::kUnauthorized: return "Unauthorized";
    case ErrorCode::kForbidden: return "Forbidden";
    case ErrorCode::kTooManyRequests: return "TooManyRequests";
    case ErrorCode::kServerError: return "ServerError";
    case ErrorCode::kHttpError: return "HttpError";
    case ErrorCode::kTransport: return "Transport";
    case ErrorCode::kTimeout: return "Timeout";
    case ErrorCode::kCancelled: return "Cancelled";
    case ErrorCode::kIo: return "Io";
    case ErrorCode::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string Error::describe() const {
  if (http_status != 0) return fmt::format("{} (HTTP {}): {}", to_string(code), http_status, message);
  return fmt::format("{}: {}", to_string(code), message);
}

bool is_transient(ErrorCode code) {
  switch (code) {
    case ErrorCode::kTransport:
    case ErrorCode::kTimeout:
    case ErrorCode::kTooManyRequests:
    case ErrorCode::kServerError:
      return true;
    default:
      return false;
  }
}

}  // namespace berth
