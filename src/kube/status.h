// metav1.Status: the body of every failed API call and of a watch ERROR event, turned into an
// Error with the ErrorCode that api_client.h promises.
//
//   404                      -> kNotFound
//   409 reason AlreadyExists -> kAlreadyExists, any other 409 -> kConflict
//   410 (reason Expired/Gone)-> kGone
//   401 kUnauthorized, 403 kForbidden, 422 kInvalid, 429 kTooManyRequests, 5xx kServerError
//   anything else            -> kHttpError
//
// Bodies that are not a Status (an HTML error page from a proxy, empty) are tolerated: the
// message is then the first line of the body, or "HTTP <code>".
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/error.h"

namespace berth::kube {

struct ApiStatus {
  std::string status;   // "Failure" / "Success"
  std::string reason;   // "NotFound", "AlreadyExists", "Conflict", "Expired", ...
  std::string message;
  int code = 0;         // the HTTP status the server meant
};

// Reads the fields of a Status object; fields of the wrong type are ignored (never fails).
ApiStatus parse_status(const nlohmann::json& status);

ErrorCode error_code_for(int http_status, std::string_view reason);

// The Error for an HTTP answer `http_status` with `body` (a Status or anything else).
Error error_from_response(int http_status, std::string_view body);

// The Error for a watch ERROR event's object (a Status; its `code` is the HTTP status).
Error error_from_status_object(const nlohmann::json& status);

}  // namespace berth::kube
