// The reflector's cache: the latest typed view of every object of one resource, by key.
//
//   Store<Service> services;
//   std::shared_ptr<const Service> svc = services.get("default/mysql");   // nullptr if absent
//   for (const auto& s : services.list_namespace("default")) ...
//
// T is a typed view with an `ObjectMeta meta` member (service.h, endpoint_slice.h, ...). Only
// typed views are kept, never JSON documents, so 10,000 Services stay small. Objects are
// immutable once stored and shared: a reader keeps its shared_ptr as long as it likes while the
// store moves on, and never sees a half-updated object.
//
// Keys are ObjectMeta::key(): "namespace/name", or "name" for cluster-scoped objects.
// "Changed" means: added, removed, or a different resourceVersion or uid (the API server gives
// every write a new resourceVersion; an object with an empty resourceVersion always counts as
// changed).
//
// Written by one Reflector; read by any number of threads.
// Thread-safety: every member may be called from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kube/object_meta.h"
#include "kube/watch_event.h"

namespace berth::kube {

// What a replace() did, so that event handlers can be told about each key.
struct StoreDiff {
  std::vector<std::string> added;
  std::vector<std::string> changed;
  std::vector<std::string> removed;

  bool empty() const { return added.empty() && changed.empty() && removed.empty(); }
  // added, changed and removed keys together, each once.
  std::vector<std::string> all() const;
};

template <class T>
class Store {
 public:
  using Ptr = std::shared_ptr<const T>;

  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The object stored under `key`, or nullptr.
  Ptr get(const std::string& key) const {
    std::shared_lock lock(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : it->second;
  }

  // A snapshot of every object, in key order.
  std::vector<Ptr> list() const {
    std::shared_lock lock(mu_);
    std::vector<Ptr> out;
    out.reserve(items_.size());
    for (const auto& [key, item] : items_) out.push_back(item);
    return out;
  }

  // A snapshot of the objects of one namespace, in key order.
  std::vector<Ptr> list_namespace(std::string_view ns) const {
    const std::string prefix = std::string(ns) + "/";
    std::shared_lock lock(mu_);
    std::vector<Ptr> out;
    for (auto it = items_.lower_bound(prefix); it != items_.end() && it->first.starts_with(prefix); ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  std::vector<std::string> keys() const {
    std::shared_lock lock(mu_);
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& [key, item] : items_) out.push_back(key);
    return out;
  }

  std::size_t size() const {
    std::shared_lock lock(mu_);
    return items_.size();
  }

  // Atomically makes `items` the whole content (after a LIST at `resource_version`) and
  // returns which keys were added, changed or removed. A later item wins over an earlier one
  // with the same key.
  StoreDiff replace(std::vector<Ptr> items, std::string resource_version) {
    std::map<std::string, Ptr> next;
    for (auto& item : items) next.insert_or_assign(item->meta.key(), std::move(item));
    StoreDiff diff;
    std::unique_lock lock(mu_);
    for (const auto& [key, item] : next) {
      auto old = items_.find(key);
      if (old == items_.end()) {
        diff.added.push_back(key);
      } else if (differs(*old->second, *item)) {
        diff.changed.push_back(key);
      }
    }
    for (const auto& [key, item] : items_) {
      if (!next.contains(key)) diff.removed.push_back(key);
    }
    items_.swap(next);
    resource_version_ = std::move(resource_version);
    lock.unlock();
    // `next` now holds the old objects; they are released outside the lock.
    return diff;
  }

  // Applies one watch event: kAdded/kModified store `object`, kDeleted removes its key;
  // kBookmark and kError change nothing. Returns whether the content changed.
  bool apply(WatchEventType type, Ptr object) {
    switch (type) {
      case WatchEventType::kAdded:
      case WatchEventType::kModified:
        return upsert(std::move(object));
      case WatchEventType::kDeleted:
        return remove(object->meta.key());
      case WatchEventType::kBookmark:
      case WatchEventType::kError:
        return false;
    }
    return false;
  }

  // Stores `object` under its key. Returns whether the content changed.
  bool upsert(Ptr object) {
    std::string key = object->meta.key();
    std::unique_lock lock(mu_);
    auto [it, inserted] = items_.try_emplace(std::move(key), object);
    if (inserted) return true;
    if (!differs(*it->second, *object)) return false;
    it->second.swap(object);
    lock.unlock();  // the old object is released outside the lock
    return true;
  }

  // Stores `object` (the server's answer to a write) only when the entry under its key still
  // has `expected_resource_version` (the version the write was based on). A writer calls this
  // so its next read sees its own write before the watch delivers it; when the watch already
  // delivered the write or anything later, the entry is left alone, so the store never goes
  // back in time. Returns whether the object was stored. The watch event for the same version
  // later counts as unchanged, so handlers are not called twice for one write.
  bool update_if_unchanged(Ptr object, std::string_view expected_resource_version) {
    std::string key = object->meta.key();
    std::unique_lock lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end() || it->second->meta.resource_version != expected_resource_version) return false;
    it->second.swap(object);
    lock.unlock();  // the old object is released outside the lock
    return true;
  }

  // Removes `key`. Returns whether it was present.
  bool remove(const std::string& key) {
    Ptr old;
    std::unique_lock lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end()) return false;
    old = std::move(it->second);
    items_.erase(it);
    return true;
  }

  // The resourceVersion of the last replace().
  std::string resource_version() const {
    std::shared_lock lock(mu_);
    return resource_version_;
  }

  // Set by the reflector after its first complete LIST; never cleared.
  void mark_synced() {
    std::unique_lock lock(mu_);
    synced_ = true;
  }
  bool has_synced() const {
    std::shared_lock lock(mu_);
    return synced_;
  }

 private:
  static bool differs(const T& a, const T& b) {
    return a.meta.resource_version.empty() || a.meta.resource_version != b.meta.resource_version ||
           a.meta.uid != b.meta.uid;
  }

  mutable std::shared_mutex mu_;
  std::map<std::string, Ptr> items_;  // guarded by mu_
  std::string resource_version_;      // guarded by mu_
  bool synced_ = false;               // guarded by mu_
};

}  // namespace berth::kube
