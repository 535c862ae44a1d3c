#include "kube-sim/watch_hub.h"

#include <algorithm>


namespace berth::kubesim {

using nlohmann::json;

bool WatchFilter::matches(const json& object) const {
  if (!ns.empty()) {
    auto meta = object.find("metadata");
    if (meta == object.end() || meta->value("namespace", "") != ns) return false;
  }
  if (!fields.empty() && !fields.matches(object)) return false;
  if (!labels.empty() && !labels.matches(object_labels(object))) return false;
  return true;
}

std::optional<kube::WatchEvent> filter_event(const WatchFilter& filter, kube::WatchEventType type, const json* prev,
                                             const json& object, std::uint64_t resource_version) {
  bool now_matches = filter.matches(object);
  bool was_matching = prev != nullptr && filter.matches(*prev);
  switch (type) {
    case kube::WatchEventType::kAdded:
      if (now_matches) return kube::WatchEvent{kube::WatchEventType::kAdded, object};
      return std::nullopt;
    case kube::WatchEventType::kDeleted:
      // The deleted object's content is the previous one, so match on it.
      if (was_matching || (prev == nullptr && now_matches)) return kube::WatchEvent{kube::WatchEventType::kDeleted, object};
      return std::nullopt;
    case kube::WatchEventType::kModified:
      if (now_matches && was_matching) return kube::WatchEvent{kube::WatchEventType::kModified, object};
      if (now_matches) return kube::WatchEvent{kube::WatchEventType::kAdded, object};
      if (was_matching) {
        json gone = *prev;
        gone["metadata"]["resourceVersion"] = std::to_string(resource_version);
        return kube::WatchEvent{kube::WatchEventType::kDeleted, std::move(gone)};
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

HubWatch::HubWatch(WatchFilter filter, std::string kind, std::string api_version, bool bookmarks,
                   std::chrono::milliseconds bookmark_interval, std::size_t queue_limit, std::uint64_t start_version)
    : filter_(std::move(filter)),
      kind_(std::move(kind)),
      api_version_(std::move(api_version)),
      bookmarks_(bookmarks),
      bookmark_interval_(bookmark_interval),
      queue_limit_(queue_limit),
      progress_version_(start_version),
      last_activity_(std::chrono::steady_clock::now()) {}

std::optional<kube::WatchEvent> HubWatch::next(std::chrono::milliseconds wait) {
  using std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  const auto deadline = steady_clock::now() + wait;
  while (true) {
    auto now = steady_clock::now();
    if (!queue_.empty()) {
      kube::WatchEvent ev = std::move(queue_.front());
      queue_.pop_front();
      last_activity_ = now;
      return ev;
    }
    if (closed_) return std::nullopt;
    auto wake = deadline;
    if (bookmarks_) {
      auto due = last_activity_ + bookmark_interval_;
      if (now >= due) {
        last_activity_ = now;
        json object = {{"kind", kind_},
                       {"apiVersion", api_version_},
                       {"metadata", {{"resourceVersion", std::to_string(progress_version_)}}}};
        return kube::WatchEvent{kube::WatchEventType::kBookmark, std::move(object)};
      }
      wake = std::min(wake, due);
    }
    if (now >= deadline) return std::nullopt;
    cv_.wait_until(lock, wake);
  }
}

bool HubWatch::closed() const {
  std::lock_guard lock(mu_);
  return closed_ && queue_.empty();
}

void HubWatch::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  queue_.clear();
  cv_.notify_all();
}

void HubWatch::push(std::optional<kube::WatchEvent> event, std::uint64_t resource_version) {
  std::lock_guard lock(mu_);
  if (closed_) return;
  progress_version_ = std::max(progress_version_, resource_version);
  if (!event) return;
  if (queue_.size() >= queue_limit_) {
    // A reader this far behind would only fall further; kube-apiserver ends such a watch.
    closed_ = true;
    queue_.clear();
  } else {
    queue_.push_back(std::move(*event));
  }
  cv_.notify_all();
}

void HubWatch::preload(std::vector<kube::WatchEvent> events) {
  std::lock_guard lock(mu_);
  for (auto& ev : events) queue_.push_back(std::move(ev));
  cv_.notify_all();
}

void WatchHub::add(std::shared_ptr<HubWatch> watch) {
  prune();
  watches_.push_back(std::move(watch));
}

void WatchHub::publish(const std::string& resource, kube::WatchEventType type, const json* prev, const json& object,
                       std::uint64_t resource_version) {
  bool stale = false;
  for (auto& weak : watches_) {
    auto w = weak.lock();
    if (!w || w->closed()) {
      stale = true;
      continue;
    }
    std::optional<kube::WatchEvent> ev;
    if (w->filter().resource == resource) ev = filter_event(w->filter(), type, prev, object, resource_version);
    w->push(std::move(ev), resource_version);
  }
  if (stale) prune();
}

void WatchHub::close_all() {
  for (auto& weak : watches_) {
    if (auto w = weak.lock()) w->close();
  }
  watches_.clear();
}

std::size_t WatchHub::open_count() {
  prune();
  return watches_.size();
}

void WatchHub::prune() {
  std::erase_if(watches_, [](const std::weak_ptr<HubWatch>& weak) {
    auto w = weak.lock();
    return !w || w->closed();
  });
}

}  // namespace berth::kubesim
