// The live side of kube-sim's watches: each open watch has its own bounded queue, so that a
// writer never waits for a reader, and a watch that falls too far behind is closed (as
// kube-apiserver closes a slow watcher; the client then re-lists or re-watches).
//
// Thread-safety: WatchHub is not synchronised: ObjectStore calls it with its own mutex held,
// which also orders the events every watch receives. HubWatch::next() is called by the one
// reader thread; close() from any thread. Lock order: store mutex, then a watch's mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube-sim/field_selector.h"
#include "kube-sim/object_store.h"
#include "kube/label_selector.h"
#include "kube/watch_event.h"

namespace berth::kubesim {

// Which objects a watch (or a list) is about.
struct WatchFilter {
  std::string resource;  // ObjectStore's resource id
  std::string ns;        // "" = all namespaces
  kube::LabelSelector labels;
  FieldSelector fields;

  bool matches(const nlohmann::json& object) const;
};

// What a watch with `filter` sees for one write, or nothing: a write that moves an object into
// the selection is ADDED, out of it DELETED (carrying the previous content stamped with the
// write's resourceVersion), as kube-apiserver's cacher does. `prev` is null for a create.
std::optional<kube::WatchEvent> filter_event(const WatchFilter& filter, kube::WatchEventType type,
                                             const nlohmann::json* prev, const nlohmann::json& object,
                                             std::uint64_t resource_version);

class HubWatch final : public Watch {
 public:
  HubWatch(WatchFilter filter, std::string kind, std::string api_version, bool bookmarks,
           std::chrono::milliseconds bookmark_interval, std::size_t queue_limit, std::uint64_t start_version);

  std::optional<kube::WatchEvent> next(std::chrono::milliseconds wait) override;
  bool closed() const override;
  void close() override;

  const WatchFilter& filter() const { return filter_; }
  // Queues an event (closing the watch if its queue is full) and records that the store has
  // reached `resource_version`, which later bookmarks report.
  void push(std::optional<kube::WatchEvent> event, std::uint64_t resource_version);
  // The initial events (synthetic ADDED or replayed history), queued before the watch is
  // published; not subject to the queue bound, which is for falling behind live writes.
  void preload(std::vector<kube::WatchEvent> events);

 private:
  const WatchFilter filter_;
  const std::string kind_;
  const std::string api_version_;
  const bool bookmarks_;
  const std::chrono::milliseconds bookmark_interval_;
  const std::size_t queue_limit_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<kube::WatchEvent> queue_;                   // guarded by mu_
  bool closed_ = false;                                  // guarded by mu_
  std::uint64_t progress_version_ = 0;                   // guarded by mu_
  std::chrono::steady_clock::time_point last_activity_;  // guarded by mu_
};

class WatchHub {
 public:
  void add(std::shared_ptr<HubWatch> watch);
  // Sends one write to every open watch: an event to those it concerns, progress to all.
  void publish(const std::string& resource, kube::WatchEventType type, const nlohmann::json* prev,
               const nlohmann::json& object, std::uint64_t resource_version);
  void close_all();
  std::size_t open_count();

 private:
  void prune();
  std::vector<std::weak_ptr<HubWatch>> watches_;
};

}  // namespace berth::kubesim
