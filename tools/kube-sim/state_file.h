// kube-sim's --state-file: the JSON of ObjectStore::snapshot(), so a restarted kube-sim keeps
// its objects and its resourceVersion sequence.
//
// StateSaver writes the file after changes, debounced: mark_dirty() is cheap and may be called
// after every write; a background thread saves at most once per interval. flush() saves now
// (shutdown). Every save is atomic (temp + fsync + rename).
//
// Thread-safety: every StateSaver member is safe to call from any thread. The snapshot
// function is called on the saver's thread (or the flush() caller's), never concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/error.h"

namespace berth::kubesim {

// std::nullopt when the file does not exist; kParse when it is not JSON; kIo otherwise.
Result<std::optional<nlohmann::json>> read_state_file(const std::filesystem::path& path);
Result<void> write_state_file(const std::filesystem::path& path, const nlohmann::json& state);

class StateSaver {
 public:
  using SnapshotFn = std::function<nlohmann::json()>;

  StateSaver(std::filesystem::path path, SnapshotFn snapshot, Clock& clock,
             std::chrono::milliseconds interval = std::chrono::milliseconds(200));
  // Stops the thread; does not flush (call flush() first when the state matters).
  ~StateSaver();
  StateSaver(const StateSaver&) = delete;
  StateSaver& operator=(const StateSaver&) = delete;

  void mark_dirty();
  Result<void> flush();

  // Completed saves, for tests.
  std::uint64_t saves() const;

 private:
  void run(std::stop_token stop);
  Result<void> save_locked();

  const std::filesystem::path path_;
  const SnapshotFn snapshot_;
  Clock& clock_;
  const std::chrono::milliseconds interval_;

  mutable std::mutex mu_;
  std::condition_variable_any dirty_cv_;
  bool dirty_ = false;        // guarded by mu_
  std::uint64_t saves_ = 0;   // guarded by mu_
  std::mutex save_mu_;        // serialises writers of the file (the thread and flush())
  std::jthread thread_;       // last: starts after every field above is ready
};

}  // namespace berth::kubesim
