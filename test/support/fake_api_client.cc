#include "support/fake_api_client.h"

#include <utility>

namespace berth::testing {

void FakeApiClient::push_list(Result<kube::ListPage> page) {
  std::lock_guard lock(mu_);
  lists_.push_back(std::move(page));
}

void FakeApiClient::push_watch(WatchSession session) {
  std::lock_guard lock(mu_);
  watches_.push_back(std::move(session));
}

void FakeApiClient::push_result(Result<nlohmann::json> result) {
  std::lock_guard lock(mu_);
  results_.push_back(std::move(result));
}

std::vector<FakeApiClient::ListCall> FakeApiClient::list_calls() const {
  std::lock_guard lock(mu_);
  return list_calls_;
}

std::vector<FakeApiClient::WatchCall> FakeApiClient::watch_calls() const {
  std::lock_guard lock(mu_);
  return watch_calls_;
}

std::vector<FakeApiClient::Call> FakeApiClient::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

void FakeApiClient::wait_for_lists(std::size_t n) const {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return list_calls_.size() >= n; });
}

void FakeApiClient::wait_for_watches(std::size_t n) const {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return watches_delivered_ >= n; });
}

Result<kube::ListPage> FakeApiClient::list(const kube::ResourceType& type, std::string_view ns,
                                           const kube::ListOptions& options) {
  std::lock_guard lock(mu_);
  list_calls_.push_back(ListCall{std::string(type.plural), std::string(ns), options});
  cv_.notify_all();
  if (lists_.empty()) return make_error(ErrorCode::kServerError, "FakeApiClient: no scripted list", 500);
  Result<kube::ListPage> page = std::move(lists_.front());
  lists_.pop_front();
  return page;
}

Result<void> FakeApiClient::watch(const kube::ResourceType& type, std::string_view ns,
                                  const kube::WatchOptions& options, const kube::WatchHandler& handler,
                                  std::stop_token stop) {
  WatchSession session;
  {
    std::lock_guard lock(mu_);
    watch_calls_.push_back(WatchCall{std::string(type.plural), std::string(ns), options});
    if (!watches_.empty()) {
      session = std::move(watches_.front());
      watches_.pop_front();
    }
  }
  bool handler_stopped = false;
  for (auto& event : session.events) {
    if (stop.stop_requested()) break;
    if (!handler(std::move(event))) {
      handler_stopped = true;
      break;
    }
  }
  if (session.before_end && !handler_stopped && !stop.stop_requested()) session.before_end();
  std::unique_lock lock(mu_);
  ++watches_delivered_;
  cv_.notify_all();
  if (stop.stop_requested()) return make_error(ErrorCode::kCancelled, "stopped");
  if (handler_stopped) return {};
  switch (session.end) {
    case WatchEnd::kClean:
      return {};
    case WatchEnd::kError:
      return std::unexpected(session.error);
    case WatchEnd::kBlockUntilStop:
      cv_.wait(lock, stop, [] { return false; });
      return make_error(ErrorCode::kCancelled, "stopped");
  }
  return {};
}

Result<nlohmann::json> FakeApiClient::record(std::string verb, const kube::ResourceType& type,
                                             std::string_view ns, std::string_view name, nlohmann::json body) {
  std::lock_guard lock(mu_);
  calls_.push_back(Call{std::move(verb), std::string(type.plural), std::string(ns), std::string(name), std::move(body)});
  cv_.notify_all();
  if (results_.empty()) return make_error(ErrorCode::kNotFound, "FakeApiClient: no scripted result", 404);
  Result<nlohmann::json> result = std::move(results_.front());
  results_.pop_front();
  return result;
}

Result<nlohmann::json> FakeApiClient::get(const kube::ResourceType& type, std::string_view ns,
                                          std::string_view name) {
  return record("get", type, ns, name, nullptr);
}

Result<nlohmann::json> FakeApiClient::create(const kube::ResourceType& type, std::string_view ns,
                                             const nlohmann::json& object) {
  return record("create", type, ns, "", object);
}

Result<nlohmann::json> FakeApiClient::update(const kube::ResourceType& type, std::string_view ns,
                                             std::string_view name, const nlohmann::json& object) {
  return record("update", type, ns, name, object);
}

Result<nlohmann::json> FakeApiClient::patch(const kube::ResourceType& type, std::string_view ns,
                                            std::string_view name, kube::PatchType patch_type,
                                            const nlohmann::json& patch) {
  const char* verb = patch_type == kube::PatchType::kMerge            ? "patch-merge"
                     : patch_type == kube::PatchType::kStrategicMerge ? "patch-strategic"
                                                                      : "patch-json";
  return record(verb, type, ns, name, patch);
}

Result<void> FakeApiClient::remove(const kube::ResourceType& type, std::string_view ns, std::string_view name) {
  auto result = record("remove", type, ns, name, nullptr);
  if (!result) return std::unexpected(result.error());
  return {};
}

}  // namespace berth::testing
