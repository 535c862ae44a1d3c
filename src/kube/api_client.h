// The seam between berth and the Kubernetes REST API.
//
// ApiClient speaks in JSON documents and ResourceTypes; typed views (service.h, ...) are parsed
// by callers. RestClient (rest_client.h) implements it over HTTPS with rate limiting, retries
// and token refresh; tests use fakes that record calls.
//
// Errors: every call returns Result. HTTP failures map to ErrorCode (404 kNotFound, 409
// kConflict or kAlreadyExists by the Status reason, 410 kGone, 422 kInvalid, 429
// kTooManyRequests, 5xx kServerError), with the Status message in Error::message.
// Implementations have already retried transient failures by the time an error is returned.
//
// Thread-safety: implementations are safe to use from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "kube/resource.h"
#include "kube/watch_event.h"

namespace berth::kube {

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::int64_t limit = 0;        // 0: no paging
  std::string continue_token;    // from the previous page
  std::string resource_version;  // "" = most recent (quorum read)
};

struct ListPage {
  std::vector<nlohmann::json> items;
  std::string resource_version;  // the list's metadata.resourceVersion
  std::string continue_token;    // empty on the last page
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // watch events after this version
  bool allow_bookmarks = true;
  int timeout_seconds = 300;     // server-side timeout; the server then ends the stream cleanly
};

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kStrategicMerge,  // application/strategic-merge-patch+json
  kJson,            // application/json-patch+json (RFC 6902)
};

// Return false from the handler to stop watching; the call then returns success.
using WatchHandler = std::function<bool(WatchEvent&&)>;

class ApiClient {
 public:
  virtual ~ApiClient() = default;

  virtual Result<nlohmann::json> get(const ResourceType& type, std::string_view ns,
                                     std::string_view name) = 0;

  // One page of a LIST; an empty namespace lists all namespaces.
  virtual Result<ListPage> list(const ResourceType& type, std::string_view ns,
                                const ListOptions& options) = 0;

  // Streams events until the server ends the stream (success), the handler returns false
  // (success), `stop` is requested (kCancelled) or the connection fails (an error; the caller
  // resumes from the last resourceVersion it saw). A malformed line is logged and skipped.
  // An ERROR event is handed to the handler like any other.
  virtual Result<void> watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                             const WatchHandler& handler, std::stop_token stop) = 0;

  virtual Result<nlohmann::json> create(const ResourceType& type, std::string_view ns,
                                        const nlohmann::json& object) = 0;

  // PUT; the object's metadata.resourceVersion is the precondition (kConflict when stale).
  virtual Result<nlohmann::json> update(const ResourceType& type, std::string_view ns,
                                        std::string_view name, const nlohmann::json& object) = 0;

  virtual Result<nlohmann::json> patch(const ResourceType& type, std::string_view ns,
                                       std::string_view name, PatchType patch_type,
                                       const nlohmann::json& patch) = 0;

  virtual Result<void> remove(const ResourceType& type, std::string_view ns, std::string_view name) = 0;
};

}  // namespace berth::kube
