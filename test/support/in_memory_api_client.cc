#include "support/in_memory_api_client.h"

#include <condition_variable>

#include <fmt/format.h>

namespace berth::testing {
namespace {

std::string object_id(const kube::ResourceType& type, std::string_view ns, std::string_view name) {
  return fmt::format("{}/{}/{}", type.plural, ns, name);
}

}  // namespace

nlohmann::json InMemoryApiClient::store_locked(const kube::ResourceType& type, nlohmann::json object) {
  nlohmann::json& meta = object["metadata"];
  if (!meta.contains("uid")) meta["uid"] = fmt::format("uid-{}", revision_ + 1);
  if (!meta.contains("creationTimestamp")) meta["creationTimestamp"] = "2026-11-23T10:00:00Z";
  if (!meta.contains("namespace") && type.namespaced) meta["namespace"] = "default";
  meta["resourceVersion"] = std::to_string(++revision_);
  object["apiVersion"] = type.api_version();
  object["kind"] = type.kind;
  objects_[object_id(type, meta.value("namespace", ""), meta.value("name", ""))] = object;
  return object;
}

nlohmann::json InMemoryApiClient::put(const kube::ResourceType& type, nlohmann::json object) {
  std::lock_guard lock(mu_);
  return store_locked(type, std::move(object));
}

std::optional<nlohmann::json> InMemoryApiClient::object(const kube::ResourceType& type, std::string_view ns,
                                                        std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(object_id(type, ns, name));
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

void InMemoryApiClient::erase(const kube::ResourceType& type, std::string_view ns, std::string_view name) {
  std::lock_guard lock(mu_);
  objects_.erase(object_id(type, ns, name));
}

void InMemoryApiClient::fail_next(std::string verb, Error error) {
  std::lock_guard lock(mu_);
  failures_[std::move(verb)].push_back(std::move(error));
}

std::vector<std::string> InMemoryApiClient::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

void InMemoryApiClient::clear_calls() {
  std::lock_guard lock(mu_);
  calls_.clear();
}

std::optional<Error> InMemoryApiClient::begin_locked(std::string verb, const kube::ResourceType& type,
                                                     std::string_view ns, std::string_view name) {
  calls_.push_back(name.empty() ? fmt::format("{} {} {}", verb, type.plural, ns)
                                : fmt::format("{} {} {}/{}", verb, type.plural, ns, name));
  auto it = failures_.find(verb);
  if (it == failures_.end() || it->second.empty()) return std::nullopt;
  Error error = it->second.front();
  it->second.pop_front();
  return error;
}

Result<nlohmann::json> InMemoryApiClient::get(const kube::ResourceType& type, std::string_view ns,
                                              std::string_view name) {
  std::lock_guard lock(mu_);
  if (auto error = begin_locked("get", type, ns, name)) return std::unexpected(*error);
  auto it = objects_.find(object_id(type, ns, name));
  if (it == objects_.end()) return make_error(ErrorCode::kNotFound, fmt::format("{} \"{}\" not found", type.plural, name));
  return it->second;
}

Result<kube::ListPage> InMemoryApiClient::list(const kube::ResourceType& type, std::string_view ns,
                                               const kube::ListOptions&) {
  std::lock_guard lock(mu_);
  if (auto error = begin_locked("list", type, ns, "")) return std::unexpected(*error);
  kube::ListPage page;
  const std::string prefix = ns.empty() ? fmt::format("{}/", type.plural) : fmt::format("{}/{}/", type.plural, ns);
  for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.starts_with(prefix); ++it) {
    page.items.push_back(it->second);
  }
  page.resource_version = std::to_string(revision_);
  return page;
}

Result<void> InMemoryApiClient::watch(const kube::ResourceType&, std::string_view, const kube::WatchOptions&,
                                      const kube::WatchHandler&, std::stop_token stop) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait(lock, stop, [] { return false; });
  return make_error(ErrorCode::kCancelled, "watch stopped");
}

Result<nlohmann::json> InMemoryApiClient::create(const kube::ResourceType& type, std::string_view ns,
                                                 const nlohmann::json& object) {
  std::lock_guard lock(mu_);
  const std::string name = object["metadata"].value("name", "");
  if (auto error = begin_locked("create", type, ns, name)) return std::unexpected(*error);
  if (objects_.contains(object_id(type, ns, name))) {
    return make_error(ErrorCode::kAlreadyExists, fmt::format("{} \"{}\" already exists", type.plural, name));
  }
  nlohmann::json stored = object;
  stored["metadata"]["namespace"] = std::string(ns);
  stored["metadata"].erase("resourceVersion");
  return store_locked(type, std::move(stored));
}

Result<nlohmann::json> InMemoryApiClient::update(const kube::ResourceType& type, std::string_view ns,
                                                 std::string_view name, const nlohmann::json& object) {
  std::lock_guard lock(mu_);
  if (auto error = begin_locked("update", type, ns, name)) return std::unexpected(*error);
  auto it = objects_.find(object_id(type, ns, name));
  if (it == objects_.end()) return make_error(ErrorCode::kNotFound, fmt::format("{} \"{}\" not found", type.plural, name));
  if (object["metadata"].value("resourceVersion", "") != it->second["metadata"]["resourceVersion"]) {
    return make_error(ErrorCode::kConflict, "the object has been modified");
  }
  nlohmann::json stored = object;
  stored["metadata"]["uid"] = it->second["metadata"]["uid"];
  stored["metadata"]["creationTimestamp"] = it->second["metadata"]["creationTimestamp"];
  stored["metadata"]["namespace"] = std::string(ns);
  return store_locked(type, std::move(stored));
}

Result<nlohmann::json> InMemoryApiClient::patch(const kube::ResourceType& type, std::string_view ns,
                                                std::string_view name, kube::PatchType patch_type,
                                                const nlohmann::json& patch) {
  std::lock_guard lock(mu_);
  if (auto error = begin_locked("patch", type, ns, name)) return std::unexpected(*error);
  if (patch_type != kube::PatchType::kMerge) return make_error(ErrorCode::kInvalid, "only merge patches are supported");
  auto it = objects_.find(object_id(type, ns, name));
  if (it == objects_.end()) return make_error(ErrorCode::kNotFound, fmt::format("{} \"{}\" not found", type.plural, name));
  nlohmann::json body = patch;
  if (body.contains("metadata") && body["metadata"].contains("resourceVersion")) {
    if (body["metadata"]["resourceVersion"] != it->second["metadata"]["resourceVersion"]) {
      return make_error(ErrorCode::kConflict, "the object has been modified");
    }
    body["metadata"].erase("resourceVersion");
  }
  nlohmann::json stored = it->second;
  stored.merge_patch(body);
  return store_locked(type, std::move(stored));
}

Result<void> InMemoryApiClient::remove(const kube::ResourceType& type, std::string_view ns, std::string_view name) {
  std::lock_guard lock(mu_);
  if (auto error = begin_locked("remove", type, ns, name)) return std::unexpected(*error);
  if (objects_.erase(object_id(type, ns, name)) == 0) {
    return make_error(ErrorCode::kNotFound, fmt::format("{} \"{}\" not found", type.plural, name));
  }
  return {};
}

}  // namespace berth::testing
