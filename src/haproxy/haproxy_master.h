// The HAProxy process tree: start a master, adopt one that runs, reload it and confirm the
// outcome, and tell whether it is still alive.
//
// berth never owns HAProxy's lifetime: a master it starts runs in a session of its own
// (double fork + setsid), reparented away from berth, so restarting or killing berth never
// restarts HAProxy or cuts a session. The master's stdout/stderr go to `paths.master_log`, which
// is where HAProxy explains a failed start or reload (2.6's `reload` command prints nothing).
//
//   haproxy -W -S <master_socket>,mode,600 -f <config> -p <pid_file>
//
// Thread-safety: not thread-safe; the data plane's single apply thread owns it.
#pragma once

#include <chrono>
#include <filesystem>
#include <stop_token>
#include <string>

#include "common/clock.h"
#include "common/error.h"
#include "haproxy/master_cli.h"

namespace berth::haproxy {

// How long a master whose process still runs may stay silent before it is taken for dead
// (HaproxyMaster::taken_for_dead): far beyond any re-exec measured, short enough that a hung
// master is replaced within a few resync periods.
inline constexpr std::chrono::seconds kMasterPatience{10};

struct HaproxyPaths {
  std::string binary = "/usr/sbin/haproxy";
  std::filesystem::path config;         // the config the master loads (and reloads)
  std::filesystem::path master_socket;  // -S
  std::filesystem::path pid_file;       // -p: the master's pid
  std::filesystem::path master_log;     // the master's stdout/stderr, appended to
};

class HaproxyMaster {
 public:
  HaproxyMaster(HaproxyPaths paths, MasterCli& cli, Clock& clock);

  const HaproxyPaths& paths() const { return paths_; }

  // `show proc` now. kTransport/kTimeout when no master answers (not running, or dead, or
  // only busy: it refuses connections while it re-executes for a reload).
  Result<ProcessTable> status();

  // Whether a master that does not answer now is to be taken for dead. The master that last
  // answered here is alive while its pid still runs a process named haproxy: re-executing a
  // big config on a loaded host (a sanitizer build, a busy CI machine) keeps it silent for far
  // longer than the few ms a reload usually takes, and a second master started beside it
  // would split the host ports between two processes. It is taken for dead when that process
  // is gone, when none ever answered here, or when it has been silent for `patience` (a hung
  // master; or one in another pid namespace, whose pid means nothing here).
  bool taken_for_dead(Clock::duration patience) const;

  // Starts a master on paths().config and waits until `show proc` lists a worker. Errors:
  // kAlreadyExists when a master already answers on the socket (a second one would take the
  // socket path over and orphan the first: adopt it instead), also one that is not the process
  // started here and came up meanwhile; kIo when it cannot be spawned;
  // kInvalid when HAProxy exits or no worker appears before `timeout` (the message carries the
  // master log's ALERT lines, e.g. "cannot bind socket (Address already in use) for
  // [0.0.0.0:26735]"; a master that timed out is sent SIGTERM); kCancelled, leaving the master
  // running (stopping berth never stops HAProxy; the next berth adopts it).
  Result<ProcessTable> start(std::chrono::milliseconds timeout, std::stop_token stop);

  // Sends `reload` and waits until `show proc` tells the outcome (the master refuses
  // connections for a few ms while it re-executes). Success: the master's reload count went up,
  // no failure was counted and a new worker is current; the new table is returned. A reload
  // HAProxy refused: kInvalid with the new lines of the master log (the running workers keep
  // serving the old config). kTransport when no master answers before the reload or it exits
  // during it; kTimeout / kCancelled otherwise. A reload that fails to bind a busy port takes
  // about 2 s (measured): HAProxy retries the bind while old workers exist.
  Result<ProcessTable> reload(std::chrono::milliseconds timeout, std::stop_token stop);

 private:
  HaproxyPaths paths_;
  MasterCli& cli_;
  Clock& clock_;
  int last_pid_ = 0;                   // the master that last answered `show proc`
  Clock::time_point last_answer_{};    // when it did
};

// `haproxy -c -f <config>`: whether HAProxy accepts a config file. kInvalid with HAProxy's own
// output (its ALERT lines) when it does not; kIo when the binary cannot be run; kTimeout.
// Note that -c passes a config whose ports are busy: only a start or reload binds.
Result<void> check_config(const std::string& binary, const std::filesystem::path& config,
                          std::chrono::milliseconds timeout);

}  // namespace berth::haproxy
