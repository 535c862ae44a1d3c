// What HAProxy's workers report about berth's listeners right now: sessions per host port and,
// per server, its health and sessions. It feeds `berth status` (docs/operations.md).
//
//   auto stats = read_runtime_stats(master_cli);   // `show proc`, then `show stat` per worker
//   stats->listeners[26735].sessions               // open sessions on host port 26735
//
// Sessions are summed over every worker, the old ones draining after a reload included: a
// database session opened before a reload stays with the worker that accepted it, often for
// days, and is still a session of that Service. Health comes from the current worker only (old
// workers keep checking with their own, older view).
//
// Servers are the slots HAProxy has an address for and that are not in maintenance: berth's
// empty slots are disabled placeholders (model.h), so a MAINT row is a free slot, not a down
// server.
//
// Thread-safety: pure functions; read_runtime_stats may run on any thread because MasterCli
// implementations are thread-safe (each call is one session).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "haproxy/master_cli.h"

namespace berth::haproxy {

// One row of `show stat`: a frontend, a backend, or a server of a backend.
struct StatRow {
  std::string proxy;    // pxname: "p26735"
  std::string name;     // svname: "FRONTEND", "BACKEND" or a server ("s1")
  int sessions = 0;     // scur
  std::string status;   // "OPEN", "UP", "DOWN", "MAINT", "no check", "UP 1/2", ...
  std::string address;  // addr of a server ("10.0.0.7:3306"), "" otherwise
  bool operator==(const StatRow&) const = default;
};

// Parses `show stat` CSV (HAProxy 2.6: a "# pxname,svname,..." header naming the columns, one
// line per row). Columns are found by name, so added columns do not matter. kParse when the
// header or a needed column is missing, or a row has fewer fields than the header.
Result<std::vector<StatRow>> parse_show_stat(std::string_view text);

enum class ServerHealth { kUp, kDown, kUnchecked };

struct ServerRuntime {
  std::string address;  // "10.0.0.7:3306", "[fd00::7]:5432"
  ServerHealth health = ServerHealth::kUnchecked;
  std::string status;   // HAProxy's words, for people: "UP", "DOWN 1/2", "no check"
  int sessions = 0;     // over every worker
  bool operator==(const ServerRuntime&) const = default;
};

struct ListenerRuntime {
  int sessions = 0;                     // the frontend's, over every worker
  std::vector<ServerRuntime> servers;   // in slot order of the current worker
  bool operator==(const ListenerRuntime&) const = default;
};

struct RuntimeStats {
  ProcessTable processes;
  std::map<int, ListenerRuntime> listeners;  // by host port; berth's proxies ("p<port>") only
};

// HAProxy's health words: kUp for "UP" and "UP n/m" (still up, checks failing); kDown for
// "DOWN", "DOWN n/m" (still down, checks passing), "NOLB" and "DRAIN" (no new sessions);
// kUnchecked for "no check" (gets sessions, nothing vouches for it).
ServerHealth server_health(std::string_view status);

// Which proxy serves which host port. The per-port mode names a frontend and a backend
// "p<port>" and counts a port's sessions on its frontend; range mode has one frontend, so a
// port's sessions are those of the backend its ports.map entry names.
struct ProxyNaming {
  // Range mode: backend name → host port, from the current worker's ports.map. Empty optional:
  // the per-port mode's names.
  std::optional<std::map<std::string, int>> range_backends;
  std::optional<int> port_of(const std::string& proxy) const;
  // The row holding a port's sessions: "FRONTEND" per port, "BACKEND" in range mode.
  std::string_view sessions_row() const { return range_backends ? "BACKEND" : "FRONTEND"; }
};

// Folds the rows of the current worker and of the old workers into RuntimeStats::listeners.
std::map<int, ListenerRuntime> combine_worker_stats(const std::vector<StatRow>& current,
                                                    const std::vector<std::vector<StatRow>>& old_workers,
                                                    const ProxyNaming& naming = {});

// `show proc`, then `show stat` of frontends (or, in range mode, backends) and servers from each
// worker through the master. `range_ports_map`: range mode's ports.map, read back from the
// current worker (`show map`) to name each backend's port. Errors: the master CLI's
// (kTransport, kTimeout), kParse, kInvalid when no worker is listed.
Result<RuntimeStats> read_runtime_stats(MasterCli& cli, const std::optional<std::string>& range_ports_map = std::nullopt);

}  // namespace berth::haproxy
