// Keeps a Store<T> equal to the API server's objects of one resource: client-go's Reflector.
//
//   Store<Service> services;
//   Reflector<Service> reflector(api, kServices, "", {}, services, parse_service, clock, {},
//                                [&](const std::string& key) { queue.add(key); });
//   std::jthread thread([&](std::stop_token stop) { reflector.run(stop); });
//   wait_for_cache_sync({[&] { return reflector.has_synced(); }}, stop, clock, 60s);
//
// run() loops until stopped:
//   1. LIST in pages of `page_size` (limit + continue). An expired continue token (kGone)
//      restarts the LIST from the beginning. Each item goes through `parse`; a malformed item
//      is logged and skipped, never fatal. The pages then replace the whole store at once, the
//      handler is called for every added, changed and removed key, and the reflector (and
//      store) count as synced from the first complete LIST on.
//   2. WATCH from the LIST's resourceVersion with bookmarks and a server-side timeout drawn
//      from [min_watch_timeout, 2 * min_watch_timeout] (so that many clients do not reconnect
//      together). ADDED/MODIFIED/DELETED update the store and call the handler when something
//      changed; BOOKMARK only moves the resourceVersion on; every event moves the last seen
//      resourceVersion on.
//   3. When the watch ends cleanly (server timeout) it is resumed at once from the last seen
//      resourceVersion: nothing is lost or seen twice, and no LIST is needed. A transport or
//      server error, an ERROR event other than 410, or a "very short" clean watch (no event,
//      under a second) is resumed the same way after a backoff.
//   4. 410 Gone (an ERROR event with code 410 or a kGone error: the resourceVersion was
//      compacted away) → back to 1 (a full LIST at the latest resourceVersion), at once the
//      first time, after a backoff when the watch after a fresh LIST is Gone again.
//   Failures back off with berth::Backoff (jittered, as client-go: 800 ms doubling up to 30 s);
//   the backoff starts again from the beginning once `healthy_period` has passed since the last
//   failure. Every wait is on the injected Clock and ends at once when `stop` is requested.
//
// The handler receives keys only ("ns/name"); it must be quick and must not block (typically
// WorkQueue::add). It runs on the reflector's thread, after the store has been updated, so a
// handler that reads the store sees the change.
//
// Thread-safety: run() is called once, on one thread; the accessors may be called from any
// thread. The ApiClient, Store, Clock and parse function must outlive the reflector.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/error.h"
#include "kube/api_client.h"
#include "kube/object_meta.h"
#include "kube/resource.h"
#include "kube/store.h"
#include "kube/watch_event.h"

namespace berth::kube {

// Which objects to reflect: the selectors of ListOptions/WatchOptions.
struct ReflectorSelectors {
  std::string label_selector;
  std::string field_selector;
};

// Declared outside the reflector so `ReflectorOptions options = {}` compiles with GCC.
struct ReflectorOptions {
  std::int64_t page_size = 500;  // 0: LIST without paging
  std::chrono::seconds min_watch_timeout = std::chrono::minutes(5);
  Backoff::Options backoff{.initial = std::chrono::milliseconds(800),
                           .max = std::chrono::seconds(30),
                           .factor = 2.0,
                           .jitter = 0.2};
  // The backoff starts again from `initial` when no failure happened for this long (client-go's
  // backoff manager uses 2 minutes).
  Clock::duration healthy_period = std::chrono::minutes(2);
  // A clean watch that delivered nothing and lasted less than this counts as a failure, so a
  // server that closes every watch at once is not hammered (client-go's "very short watch").
  Clock::duration min_healthy_watch = std::chrono::seconds(1);
  // How often in a row an expired continue token may restart one LIST before it is treated as
  // a failure (and backed off).
  int max_list_restarts = 3;
  // Seeds the watch-timeout and backoff jitter; 0 = random.
  std::uint64_t seed = 0;
};

// Counters for tests and metrics; each only grows.
struct ReflectorStats {
  std::uint64_t lists = 0;           // complete LISTs (the first one included)
  std::uint64_t relists = 0;         // complete LISTs after the first (after 410 Gone)
  std::uint64_t list_restarts = 0;   // LISTs restarted because a continue token expired
  std::uint64_t watches = 0;         // WATCH requests made
  std::uint64_t watch_restarts = 0;  // WATCHes resumed from the last resourceVersion
  std::uint64_t failures = 0;        // failed LIST/WATCH attempts (each followed by a backoff)
  std::uint64_t skipped_objects = 0; // malformed objects logged and skipped
};

// The resource-independent loop; Reflector<T> supplies parsing and the store.
class ReflectorBase {
 public:
  using Handler = std::function<void(const std::string& key)>;

  ReflectorBase(const ReflectorBase&) = delete;
  ReflectorBase& operator=(const ReflectorBase&) = delete;
  virtual ~ReflectorBase() = default;

  // Lists and watches until `stop` is requested. Call once.
  void run(std::stop_token stop);

  // Whether a complete LIST has been stored (stays true).
  bool has_synced() const { return synced_.load(); }
  // The resourceVersion of the last complete LIST.
  std::string last_sync_resource_version() const;
  // The last resourceVersion seen (LIST, event or bookmark): where a watch resumes.
  std::string last_resource_version() const;
  ReflectorStats stats() const;

 protected:
  ReflectorBase(ApiClient& api, const ResourceType& type, std::string ns, ReflectorSelectors selectors,
                Clock& clock, ReflectorOptions options, Handler handler);

  // A LIST starts: forget the items staged so far.
  virtual void list_begin() = 0;
  // Parses and stages one LIST item; false when it was malformed (logged and skipped).
  virtual bool list_item(const nlohmann::json& item) = 0;
  // Replaces the store with the staged items; returns the keys to tell the handler about.
  virtual std::vector<std::string> list_commit(const std::string& resource_version) = 0;
  // Applies one ADDED/MODIFIED/DELETED object; returns its key when the store changed.
  // Malformed objects are logged and return nullopt.
  virtual std::optional<std::string> apply(WatchEventType type, const nlohmann::json& object) = 0;

  // Logs a malformed object with the kind and, if readable, its namespace/name.
  void log_skipped(const nlohmann::json& object, const Error& error);

  const ResourceType type_;

 private:
  enum class WatchEnd { kStopped, kEnded, kGone, kFailed };

  Result<void> list(std::stop_token stop);
  WatchEnd watch(std::stop_token stop);
  // The next backoff delay; restarts the backoff after a healthy period without failures.
  Clock::duration failure_delay();
  void set_resource_version(std::string rv);
  void notify(const std::string& key);

  ApiClient& api_;
  const std::string ns_;
  const ReflectorSelectors selectors_;
  Clock& clock_;
  const ReflectorOptions options_;
  const Handler handler_;
  std::shared_ptr<spdlog::logger> log_;

  // Owned by the run() thread.
  Backoff backoff_;
  std::mt19937_64 rng_;
  std::optional<Clock::time_point> last_failure_;
  int consecutive_gone_ = 0;  // watches in a row that ended Gone before any other event

  std::atomic<bool> synced_{false};
  mutable std::mutex mu_;
  std::string last_sync_rv_;  // guarded by mu_
  std::string last_rv_;       // guarded by mu_
  ReflectorStats stats_;      // guarded by mu_
};

template <class T>
class Reflector final : public ReflectorBase {
 public:
  // Turns one object of the resource into its typed view; kParse (or any error) skips it.
  using ParseFn = std::function<Result<T>(const nlohmann::json&)>;

  // `ns` "" watches all namespaces. `handler` may be empty.
  Reflector(ApiClient& api, const ResourceType& type, std::string ns, ReflectorSelectors selectors,
            Store<T>& store, ParseFn parse, Clock& clock, ReflectorOptions options = {},
            Handler handler = {})
      : ReflectorBase(api, type, std::move(ns), std::move(selectors), clock, std::move(options),
                      std::move(handler)),
        store_(store),
        parse_(std::move(parse)) {}

 private:
  void list_begin() override { staged_.clear(); }

  bool list_item(const nlohmann::json& item) override {
    auto parsed = parse_(item);
    if (!parsed) {
      log_skipped(item, parsed.error());
      return false;
    }
    staged_.push_back(std::make_shared<const T>(std::move(*parsed)));
    return true;
  }

  std::vector<std::string> list_commit(const std::string& resource_version) override {
    StoreDiff diff = store_.replace(std::move(staged_), resource_version);
    staged_.clear();
    store_.mark_synced();
    return diff.all();
  }

  std::optional<std::string> apply(WatchEventType type, const nlohmann::json& object) override {
    auto parsed = parse_(object);
    if (!parsed) {
      // A deletion needs only the key: drop the object even if the rest of it is unreadable.
      if (type == WatchEventType::kDeleted) {
        if (auto meta = parse_object_meta(object)) {
          std::string key = meta->key();
          if (store_.remove(key)) return key;
          return std::nullopt;
        }
      }
      log_skipped(object, parsed.error());
      return std::nullopt;
    }
    auto ptr = std::make_shared<const T>(std::move(*parsed));
    std::string key = ptr->meta.key();
    if (store_.apply(type, std::move(ptr))) return key;
    return std::nullopt;
  }

  Store<T>& store_;
  const ParseFn parse_;
  std::vector<typename Store<T>::Ptr> staged_;  // owned by the run() thread
};

}  // namespace berth::kube
