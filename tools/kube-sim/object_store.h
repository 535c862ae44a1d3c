// kube-sim's storage: the objects of every served resource, one cluster-wide resourceVersion
// sequence, the event history that watches replay, and the API semantics that do not depend
// on HTTP (defaults, validation, preconditions, patches, selectors).
//
// The HTTP layer (api_server.*) parses requests, calls ObjectStore and turns its Errors into
// metav1.Status bodies: Error::http_status is always set on failure (400, 404, 409, 410, 422),
// and Error::code distinguishes kAlreadyExists from kConflict for the Status reason.
//
// Objects are kept as JSON documents exactly as the API server would return them (apiVersion,
// kind, metadata with uid/resourceVersion/creationTimestamp, defaults applied).
//
// Thread-safety: every member is safe to call from any thread; one mutex guards the state.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "kube/api_client.h"
#include "kube/resource.h"
#include "kube/watch_event.h"
#include "kube-sim/served_resource.h"  // served_resources(), find_resource()

namespace berth::kubesim {

struct StoreOptions {
  std::string service_cidr = "10.96.0.0/16";  // ClusterIPs are allocated from this range
  std::size_t history_limit = 100000;         // events kept for watch replay before compaction
};

struct ListRequest {
  std::string ns;              // "" = all namespaces
  std::string label_selector;  // string form, parsed by the store (kInvalidArgument/400 if bad)
  std::string field_selector;  // metadata.name / metadata.namespace with =, ==, !=
  std::int64_t limit = 0;      // 0 = everything
  std::string continue_token;  // opaque, from a previous page; kGone (410) once expired
};

struct ListResult {
  std::vector<nlohmann::json> items;
  std::string resource_version;  // the list's resourceVersion (consistent across pages)
  std::string continue_token;    // "" on the last page
  std::optional<std::int64_t> remaining_item_count;
};

struct WatchRequest {
  std::string ns;
  std::string label_selector;
  std::string field_selector;
  // "" or "0": start with synthetic ADDED events for every current object, then follow.
  // Otherwise: replay every event after this version, then follow; kGone (410) when the
  // version is older than the kept history.
  std::string resource_version;
  bool allow_bookmarks = false;
  std::chrono::milliseconds bookmark_interval{1000};
};

// One open watch. Thread-safety: next() is called by one thread; close() from any.
class Watch {
 public:
  virtual ~Watch() = default;

  // The next event for this watch, waiting at most `wait`. Returns:
  //  - an event (ADDED/MODIFIED/DELETED, or a BOOKMARK whose object carries only
  //    kind/apiVersion/metadata.resourceVersion when the watch has been idle for the
  //    bookmark interval and bookmarks were asked for);
  //  - std::nullopt with closed()==false when `wait` passed with nothing to send;
  //  - std::nullopt with closed()==true once the watch is closed (drop_watches, close()).
  // An object that changes so that it no longer matches the selectors is sent as DELETED,
  // one that starts to match as ADDED, as kube-apiserver does.
  virtual std::optional<kube::WatchEvent> next(std::chrono::milliseconds wait) = 0;
  virtual bool closed() const = 0;
  virtual void close() = 0;
};

class ObjectStore {
 public:
  explicit ObjectStore(StoreOptions options = {});
  ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // Namespaces "default", "kube-system" and "kube-public" exist from the start. Creating a
  // namespaced object in a namespace that does not exist is 404, as in kube-apiserver.
  Result<nlohmann::json> create(const kube::ResourceType& type, std::string_view ns, nlohmann::json object);
  Result<nlohmann::json> get(const kube::ResourceType& type, std::string_view ns, std::string_view name) const;
  Result<ListResult> list(const kube::ResourceType& type, const ListRequest& request) const;
  // PUT: a non-empty metadata.resourceVersion must equal the stored one (409 Conflict).
  Result<nlohmann::json> update(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                                nlohmann::json object);
  // A metadata.resourceVersion inside the patch is a precondition as well.
  Result<nlohmann::json> patch(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                               kube::PatchType patch_type, const nlohmann::json& patch);
  // Returns the object as it was when deleted (with a new resourceVersion). Deleting a
  // namespace deletes everything in it at once (no graceful termination).
  Result<nlohmann::json> remove(const kube::ResourceType& type, std::string_view ns, std::string_view name);

  Result<std::shared_ptr<Watch>> watch(const kube::ResourceType& type, const WatchRequest& request);

  // Fault injection: forget all history, so a watch or continue token from any earlier
  // version gets 410 Gone; open watches are not affected.
  void compact();
  // Fault injection: close every open watch (their streams end as after a timeout).
  void drop_watches();

  std::uint64_t resource_version() const;

  // The whole state (objects + resourceVersion counter) for --state-file, and back.
  nlohmann::json snapshot() const;
  Result<void> restore(const nlohmann::json& snapshot);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace berth::kubesim
