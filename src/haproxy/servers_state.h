// The answer to `show servers state` and the server-state-file made from it.
//
// HAProxy restores the runtime address, port and ready/maint state of servers across a reload
// or restart only from a server-state file (`server-state-file` + `load-server-state-from-file
// global`), whose format is exactly what `show servers state` prints: a version line "1", a
// "# be_id be_name srv_id ..." header naming the columns, then one line per server. The driver
// dumps the state after its runtime changes, keeps the lines of the backends it manages and
// writes them back as the file (to_state_file), so the next worker starts where the last one was.
//
// Columns are found by the header's names, not by position, so a version that adds columns
// still parses; the raw line is kept so a written file carries every column HAProxy printed.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::haproxy {

struct ServerState {
  std::string backend;    // be_name
  std::string server;     // srv_name
  std::string address;    // srv_addr, as HAProxy prints it ("127.0.0.1", "::1")
  int port = 0;           // srv_port
  // srv_op_state: 0 stopped (down), 1 starting, 2 running (up), 3 stopping.
  int operational_state = 0;
  // srv_admin_state, HAProxy's SRV_ADMF_* bits: 0x01 forced maint (`state maint`), 0x02 maint
  // inherited from a tracked server, 0x20 maint after a failed address resolution, 0x08/0x10
  // drain, 0x04 "disabled in the config" — which stays set after `state ready` (measured: a
  // ready slot that the config disabled reports 4), so it alone does not mean maintenance.
  int admin_state = 0;
  std::string line;       // the server's whole line, as printed
  bool operator==(const ServerState&) const = default;

  // Whether the server is in a maintenance mode (HAProxy's SRV_ADMF_MAINT mask, 0x23).
  bool in_maintenance() const { return (admin_state & 0x23) != 0; }
};

struct ServersState {
  std::string header;  // the "# be_id be_name ..." line, as printed
  std::vector<ServerState> servers;
  bool operator==(const ServersState&) const = default;
};

// kParse naming the line or the missing column: a version other than "1", no header, a server
// line with fewer fields than the header or a non-numeric port/state. An answer with no server
// lines (no backends have servers) is valid.
Result<ServersState> parse_servers_state(std::string_view text);

// The text of a server-state file holding `state.servers` (in that order): the version line,
// the header and each server's raw line.
std::string to_state_file(const ServersState& state);

// parse_servers_state() one server at a time: `visit` sees each line's ServerState (valid for
// the call only), `header` (if given) receives the header line. The same errors; nothing but
// the current line is held, so filtering a dump of 20,000 servers costs no more than its text.
Result<void> for_each_server_state(std::string_view text, const std::function<void(const ServerState&)>& visit,
                                   std::string* header = nullptr);

// A server-state file: the version line, `header`, then `lines` (each ending in '\n').
std::string state_file_text(std::string_view header, std::string_view lines);

}  // namespace berth::haproxy
