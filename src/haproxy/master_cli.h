// The master CLI of an HAProxy started in master-worker mode (`haproxy -W -S <socket>`): the
// one socket berth talks to. The master answers "show proc" and "reload" itself and forwards
// "@!<pid> <command>" to one worker, so a runtime command can never land in an old worker that
// is still draining after a reload (FACTS.md: commands sent in the 0–20 ms after a reload to a
// worker's own socket reached the old worker).
//
// MasterCli is the seam (tests fake it); MasterSocket (master_socket.h) talks to the real one.
//
// Wire rules of HAProxy 2.6, measured: each connection takes commands one per line and the
// master closes it after the client shuts down its write side; every answer ends with an empty
// line; on the master CLI ';' separates commands at the master's level, so each worker
// command needs its own "@!<pid>" prefix, and one line per command is what this class sends.
//
// Thread-safety: implementations are safe to call from any thread; each call is one session.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::haproxy {

// One line of `show proc`.
struct ProcessEntry {
  int pid = 0;
  int reloads = 0;  // reloads this process has lived through (0 for the newest worker)
  std::string uptime;
  std::string version;
  bool operator==(const ProcessEntry&) const = default;
};

struct ProcessTable {
  ProcessEntry master;
  int failed_reloads = 0;  // "[failed: N]" on the master line: failures since the last success
  std::vector<ProcessEntry> workers;  // as listed

  // The worker that serves new connections: the one with the fewest reloads (after a failed
  // reload no worker has 0, and the previous one still serves). nullopt when none is listed.
  std::optional<int> current_worker() const;
  // Every other worker: old ones draining their sessions after a reload.
  std::vector<int> old_workers() const;
};

// Parses the answer to `show proc` (HAProxy 2.6's layout: a "#<PID> <type> ..." header, the
// master line, "# workers", worker lines, "# programs"). kParse naming the line that does not
// fit.
Result<ProcessTable> parse_show_proc(std::string_view text);

class MasterCli {
 public:
  virtual ~MasterCli() = default;

  // One command for the master itself ("show proc", "reload"); its whole answer.
  // kTransport when no master listens on the socket, kTimeout when it does not answer in time.
  virtual Result<std::string> to_master(std::string_view command) = 0;

  // Commands for the worker `pid`, sent in one session as "@!<pid> <command>" lines; the
  // answers in order (each without its terminating empty line). A command must be one line
  // without ';' (a caller's invariant: commands are built from validated values).
  virtual Result<std::vector<std::string>> to_worker(int pid, std::span<const std::string> commands) = 0;
};

}  // namespace berth::haproxy
