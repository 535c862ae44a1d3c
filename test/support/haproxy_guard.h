// Stops the HAProxy processes a test started, by PID, when the test ends — also when it fails
// half-way. HaproxyMaster detaches the master (it is not the test's child, and PDEATHSIG cannot
// reach it), so without this a failing test would leave HAProxy holding ports.
//
//   TempDir dir;                                   // declared first: destroyed last
//   HaproxyGuard guard(dir.path() / "haproxy.pid");
//   auto table = master.start(...);  guard.watch(table);   // after every start/status/reload
//
// The guard remembers the master (read from the pid file, at each watch() and again at the end)
// and every worker it was shown. On destruction it sends SIGTERM to exactly those pids that are
// still alive and whose /proc/<pid>/comm is "haproxy" (a remembered pid may have been reused by
// then), waits up to 5 s for them to go, then sends SIGKILL and waits up to 2 s more.
//
// Thread-safety: one thread uses an instance.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <set>

#include "common/error.h"
#include "haproxy/master_cli.h"

namespace berth::testing {

class HaproxyGuard {
 public:
  explicit HaproxyGuard(std::filesystem::path pid_file);
  ~HaproxyGuard();
  HaproxyGuard(const HaproxyGuard&) = delete;
  HaproxyGuard& operator=(const HaproxyGuard&) = delete;

  // Remembers the master and every worker of `table`, and the pid file's master (also when a
  // start or reload failed and there is no table).
  void watch(const haproxy::ProcessTable& table);
  void watch(const Result<haproxy::ProcessTable>& result);
  // Asks the master at `master_socket` for `show proc` and remembers what it lists, and the pid
  // file's master (also when no master answers).
  void watch_master(const std::filesystem::path& master_socket);
  void watch_pid(pid_t pid);

  // The pids this guard will stop.
  const std::set<pid_t>& pids() const { return pids_; }

  // Stops them now (what the destructor does); returns whether all of them are gone.
  bool stop_all();

 private:
  void read_pid_file();

  std::filesystem::path pid_file_;
  std::set<pid_t> pids_;
};

// Whether `pid` is a live process named "haproxy".
bool is_live_haproxy(pid_t pid);

}  // namespace berth::testing
