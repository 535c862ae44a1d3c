// The answer to `show map <file>` for the maps range mode keys by host port (ports.map,
// services.map, maxconn.map): one "<reference> <key> <value>" line per entry, e.g.
// "0x55d1c0a8e2f0 26735 k1f3a09c2_4".
//
// Thread-safety: a pure function.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace berth::haproxy {

// Entries whose key is a port number (1..65535), by port; other lines are skipped. A key listed
// twice (possible with `add map`) keeps its first value, the one HAProxy matches.
std::map<int, std::string> parse_show_map(std::string_view text);

}  // namespace berth::haproxy
