// Writes range mode's files behind the runtime updates, on a thread of its own: after a runtime
// change HAProxy already serves the new state, and the files (the maps, ACL files, haproxy.cfg
// with its ".applied" hash, the server-state file) only keep it for a reload or restart. At
// 10,000 routes they take tens of milliseconds (bench/range_files_bench.cc); written on the
// sync's thread, a change that arrives meanwhile waits for them (issue 8: a new port's p99).
//
// Coalescing: request() asks for the files of the state as it is when the writer takes it, so a
// burst of runtime changes costs one write. The writer takes a snapshot through `take` (the
// driver copies its state under its own lock, ~4 ms at 10,000 routes) and writes it without
// holding that lock.
//
// Writes made elsewhere: a reload writes every file itself, after flush(), so that the files
// it starts from (and puts back if the reload fails) show what runs, and no write of an older
// state can land after its own. Only the thread that requests writes makes other writes.
//
// The lag: until a write ends, the files show an older state. A reload or restart by someone
// else in that window loads them; the driver reconciles such a worker (range_driver.h), and a
// berth that dies in it finds a config that does not render what runs, and reloads.
//
// Thread-safety: request() and flush() from any thread; `take` and the writes run on the
// writer's thread. flush() must not be called while holding a lock that `take` needs.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "haproxy/model.h"
#include "haproxy/range/range_files.h"
#include "haproxy/range/range_state.h"

namespace spdlog {
class logger;
}

namespace berth::haproxy {

// One moment's state, as its files need it.
struct RangeFilesSnapshot {
  GlobalSettings global;
  RangeState state;
  std::set<std::string> acl_backends;  // the ACL files that may differ from `state` (the others hold it)
  std::optional<std::string> server_state;  // the server-state file's text; nullopt: leave it
};

class RangeFilesWriter {
 public:
  // `take` returns what to write now, or nullopt when there is nothing to keep (no state).
  RangeFilesWriter(RangeFiles files, std::filesystem::path config,
                   std::function<std::optional<RangeFilesSnapshot>()> take, std::shared_ptr<spdlog::logger> log);
  // Writes what was asked for, then stops: a berth that exits leaves files that match what runs.
  ~RangeFilesWriter();
  RangeFilesWriter(const RangeFilesWriter&) = delete;
  RangeFilesWriter& operator=(const RangeFilesWriter&) = delete;

  // The state changed: write its files soon. Never waits.
  void request();
  // Returns once every write asked for before the call has ended.
  void flush();

  std::uint64_t writes() const;  // snapshots written

 private:
  void run(std::stop_token stop);
  void write(const RangeFilesSnapshot& snapshot);

  const RangeFiles files_;
  const std::filesystem::path config_;
  const std::function<std::optional<RangeFilesSnapshot>()> take_;
  std::shared_ptr<spdlog::logger> log_;

  mutable std::mutex mu_;  // guards the counters below
  std::condition_variable_any changed_;
  std::uint64_t requested_ = 0;  // request() calls
  std::uint64_t done_ = 0;       // requests whose write has ended (counted before the write began)
  std::uint64_t writes_ = 0;

  std::jthread thread_;  // last: it stops before the members above go
};

}  // namespace berth::haproxy
