// RangeState → the text of haproxy.cfg in range mode. There is no template here: the frontend's
// routing rules are what makes range mode work, so they are not for an operator to edit
// (--template applies to the per-port mode; docs/listen-modes.md).
//
//   frontend berth_range
//       bind <address>:<first>-<last>          one line per span and bind address
//       tcp-request connection reject unless { dst_port,map_int(ports.map) -m found }
//       stick-table + track-sc0 dst_port       counts each port's sessions; a port over the
//       ... reject if over maxconn.map          limit in maxconn.map is refused at once
//       use_backend %[dst_port,map_int(ports.map)]
//   backend <kind id>_<n>                      one per backend of the layout
//       tcp-request content reject unless { src -f acl/<backend>.acl }
//       server s<i> <route's server, else 127.0.0.1:1 disabled> check ...
//
// The servers every route has are written into it, and the driver rewrites the file after each
// runtime change: HAProxy 2.6 takes a server's port from the server-state file at a reload but
// keeps the config's address (haproxy issue #3265), so only the config can carry addresses over
// a reload or restart that berth did not make. The state file carries health and maintenance.
// Equal states render byte-identical text.
//
// Every value is validated (model.h; config_values.h aborts on one that is not).
//
// Thread-safety: a pure function.
#pragma once

#include <string>

#include "haproxy/model.h"
#include "haproxy/range/range_files.h"
#include "haproxy/range/range_state.h"

namespace berth::haproxy {

inline constexpr std::string_view kRangeFrontendName = "berth_range";

std::string render_range_config(const GlobalSettings& global, const RangeState& state, const RangeFiles& files);

}  // namespace berth::haproxy
