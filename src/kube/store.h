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
// Change log: every change of content moves revision() on by one and records its key; a reader
// that remembers a revision asks changed_since() which keys changed after it, so it can look at
// those few instead of listing everything (the data plane's ModelBuilder at 10,000 Services).
// Only the last `change_log_capacity` changes are kept (a relist of 10,000 objects overflows
// the log, and the reader then looks at everything), so the log costs a bounded amount of memory
// whether or not anybody reads it.
//
// Written by one Reflector; read by any number of threads.
// Thread-safety: every member may be called from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
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

// What Store::changed_since() answers.
struct ChangedKeys {
  // The store's revision when it answered: ask again from here next time.
  std::uint64_t revision = 0;
  // false when the log no longer reaches back to the revision asked about (or that revision is
  // not one this store has had): `keys` is then empty and anything may have changed.
  bool complete = false;
  // Each key whose content changed after the revision asked about, once, in key order. Look
  // each up: it may hold an object the reader has seen (changed, then the change taken back by
  // a relist), or be gone.
  std::vector<std::string> keys;
};

// Where each Store's revisions start: far apart, so that a Store made at the address of a
// destroyed one never seems to continue the old one's log to a reader that kept the address
// and a revision (a store would need 2^40 changes to run into the next one's range).
inline std::uint64_t first_store_revision() {
  static std::atomic<std::uint64_t> stores{0};
  return (stores.fetch_add(1, std::memory_order_relaxed) + 1) << 40;
}

template <class T>
class Store {
 public:
  using Ptr = std::shared_ptr<const T>;

  static constexpr std::size_t kDefaultChangeLogCapacity = 4096;

  explicit Store(std::size_t change_log_capacity = kDefaultChangeLogCapacity)
      : change_log_capacity_(change_log_capacity) {}
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
    // Keys the log would drop at once are only counted, so a relist does not copy 10,000 keys
    // under the lock.
    std::size_t unlogged = diff.added.size() + diff.changed.size() + diff.removed.size();
    unlogged -= std::min(unlogged, change_log_capacity_);
    for (const auto* keys : {&diff.added, &diff.changed, &diff.removed}) {
      for (const std::string& key : *keys) {
        if (unlogged > 0) {
          --unlogged;
          ++revision_;
          log_.clear();  // what the log held is older still
        } else {
          log_change(key);
        }
      }
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
    if (!inserted) {
      if (!differs(*it->second, *object)) return false;
      it->second.swap(object);
    }
    log_change(it->first);
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
    log_change(it->first);
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
    log_change(key);
    return true;
  }

  // Moves on by one with every change of content: an upsert() or apply() that changed
  // something, a remove() that removed, an update_if_unchanged() that stored, and a replace()
  // once per key of its diff. It starts at an arbitrary value (first_store_revision()).
  std::uint64_t revision() const {
    std::shared_lock lock(mu_);
    return revision_;
  }

  // The keys changed after `revision` (an earlier answer of revision() or changed_since()), up
  // to the returned revision, read under one lock. Incomplete when more than the log's capacity
  // of changes happened since, or when `revision` is greater than this store's (it was never
  // one of its revisions). Costs O(k log k) for k changes since, most of it outside the lock.
  ChangedKeys changed_since(std::uint64_t revision) const {
    std::shared_lock lock(mu_);
    ChangedKeys out{.revision = revision_};
    // log_[i] is the key of revision oldest + 1 + i.
    const std::uint64_t oldest = revision_ - log_.size();
    if (revision < oldest || revision > revision_) return out;
    out.complete = true;
    out.keys.assign(log_.begin() + static_cast<std::ptrdiff_t>(revision - oldest), log_.end());
    lock.unlock();
    std::ranges::sort(out.keys);
    out.keys.erase(std::unique(out.keys.begin(), out.keys.end()), out.keys.end());
    return out;
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

  // Called with mu_ held for writing, once per key whose content changed.
  void log_change(const std::string& key) {
    ++revision_;
    if (change_log_capacity_ == 0) return;
    if (log_.size() == change_log_capacity_) log_.pop_front();
    log_.push_back(key);
  }

  const std::size_t change_log_capacity_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Ptr> items_;  // guarded by mu_
  std::uint64_t revision_ = first_store_revision();  // guarded by mu_
  std::deque<std::string> log_;  // the keys of the last changes, up to revision_; guarded by mu_
  std::string resource_version_;      // guarded by mu_
  bool synced_ = false;               // guarded by mu_
};

}  // namespace berth::kube
