// An ApiClient over objects kept in memory, with the write semantics controllers depend on:
// resourceVersion preconditions (409), AlreadyExists, NotFound, JSON merge patches, and a
// record of every call. For controller unit tests that check what a sync wrote, not how.
//
//   InMemoryApiClient api;
//   api.put(kube::kServices, service_json);          // as if a user had created it
//   controller.sync("default/db");
//   EXPECT_THAT(api.calls(), ElementsAre("patch services default/db"));
//   EXPECT_EQ(api.object(kube::kServices, "default", "db")->at("metadata")..., ...);
//   api.fail_next("patch", make_error(ErrorCode::kConflict, "..."));   // inject one failure
//
// Every write gets the next resourceVersion of one global counter, like etcd's revision.
// list() returns one page (limit is ignored); watch() is not supported (blocks until stop).
// Only merge patches are understood.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/api_client.h"

namespace berth::testing {

class InMemoryApiClient final : public kube::ApiClient {
 public:
  // Stores `object` as a create would (uid, creationTimestamp and resourceVersion are filled
  // in when missing), replacing any object of that name. Returns what was stored.
  nlohmann::json put(const kube::ResourceType& type, nlohmann::json object);
  std::optional<nlohmann::json> object(const kube::ResourceType& type, std::string_view ns,
                                       std::string_view name) const;
  void erase(const kube::ResourceType& type, std::string_view ns, std::string_view name);

  // The next call of `verb` (get, list, create, update, patch, remove) fails with `error`.
  void fail_next(std::string verb, Error error);

  // "verb plural namespace/name" per call (list: "list plural namespace").
  std::vector<std::string> calls() const;
  void clear_calls();

  Result<nlohmann::json> get(const kube::ResourceType& type, std::string_view ns, std::string_view name) override;
  Result<kube::ListPage> list(const kube::ResourceType& type, std::string_view ns,
                              const kube::ListOptions& options) override;
  Result<void> watch(const kube::ResourceType& type, std::string_view ns, const kube::WatchOptions& options,
                     const kube::WatchHandler& handler, std::stop_token stop) override;
  Result<nlohmann::json> create(const kube::ResourceType& type, std::string_view ns,
                                const nlohmann::json& object) override;
  Result<nlohmann::json> update(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                                const nlohmann::json& object) override;
  Result<nlohmann::json> patch(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                               kube::PatchType patch_type, const nlohmann::json& patch) override;
  Result<void> remove(const kube::ResourceType& type, std::string_view ns, std::string_view name) override;

 private:
  std::optional<Error> begin_locked(std::string verb, const kube::ResourceType& type, std::string_view ns,
                                    std::string_view name);
  nlohmann::json store_locked(const kube::ResourceType& type, nlohmann::json object);

  mutable std::mutex mu_;
  std::map<std::string, nlohmann::json> objects_;            // guarded by mu_; "plural/ns/name"
  std::map<std::string, std::deque<Error>> failures_;        // guarded by mu_; by verb
  std::vector<std::string> calls_;                           // guarded by mu_
  std::uint64_t revision_ = 100;                             // guarded by mu_
};

}  // namespace berth::testing
