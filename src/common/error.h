// Expected failures as values.
//
// Every operation that can fail for a reason outside the program's control (the network, the
// API server, bad user data, a rejected config) returns Result<T>. The ErrorCode tells a worker
// loop what to do next (retry, requeue, give up) without parsing messages. Programming errors
// are not Errors: they abort.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace berth {

enum class ErrorCode {
  kInvalidArgument,   // bad input from a user or a file (kubeconfig, flag, annotation)
  kParse,             // a document that is not what it claims to be (JSON, YAML, PEM)
  kNotFound,          // HTTP 404
  kAlreadyExists,     // HTTP 409 reason AlreadyExists
  kConflict,          // HTTP 409 Conflict: a stale resourceVersion precondition
  kGone,              // HTTP 410 / watch ERROR 410: resourceVersion too old, relist
  kInvalid,           // HTTP 422: the server rejected the object
  kUnauthorized,      // HTTP 401
  kForbidden,         // HTTP 403
  kTooManyRequests,   // HTTP 429
  kServerError,       // HTTP 5xx
  kHttpError,         // any other unexpected HTTP status
  kTransport,         // connection refused/reset, TLS failure, DNS: no HTTP answer at all
  kTimeout,           // connect or request timeout
  kCancelled,         // a stop was requested
  kIo,                // local file system
  kInternal,          // a broken invariant reported instead of aborting (e.g. third-party throw)
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  int http_status = 0;  // 0 when no HTTP answer was involved

  // One line for logs and CLI output: "<code>: <message>".
  std::string describe() const;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> make_error(ErrorCode code, std::string message, int http_status = 0) {
  return std::unexpected(Error{code, std::move(message), http_status});
}

// Whether retrying the same request later can succeed (transport trouble, 429, 5xx, timeout).
bool is_transient(ErrorCode code);

}  // namespace berth
