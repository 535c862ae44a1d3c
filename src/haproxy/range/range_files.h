// The files range mode keeps beside haproxy.cfg, which HAProxy reads at every start and reload
// and berth rewrites after every runtime change, so that a reload or restart (berth's, an
// operator's, a restarted container's) serves exactly what the Runtime API had set:
//
//   ports.map      "<host port> <backend>": the frontend's routing (use_backend)
//   services.map   "<host port> <ns>/<name>:<port>": the audit log's service field
//   maxconn.map    "<host port> <limit>", only for ports with a limit
//   acl/<backend>.acl   the sources a backend accepts, one CIDR a line ("0.0.0.0/0" and
//                  "::/0" when every source may connect)
//
// Server addresses are in haproxy.cfg itself, rewritten after every runtime change
// (range_config.h); their health and maintenance state are in the server-state file
// (GlobalSettings), dumped from the worker after every runtime change.
//
// Thread-safety: value types and functions of their arguments; the writers touch only the
// named files (each written to a temporary file and renamed, so HAProxy never reads half).
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "common/error.h"
#include "haproxy/range/range_state.h"

namespace berth::haproxy {

struct RangeFiles {
  std::filesystem::path ports_map;
  std::filesystem::path services_map;
  std::filesystem::path maxconn_map;
  std::filesystem::path acl_dir;

  // The files in `dir` (the folder of haproxy.cfg); the paths keep to [A-Za-z0-9._/-].
  static RangeFiles in(const std::filesystem::path& dir);
  std::filesystem::path acl_file(const std::string& backend) const;
};

// The text of each map file for `state` (sorted by port) and of one backend's ACL file.
std::string ports_map_text(const RangeState& state);
std::string services_map_text(const RangeState& state);
std::string maxconn_map_text(const RangeState& state);
std::string acl_text(const std::vector<Cidr>& allow_sources);
// The patterns of that file, sorted: the CIDRs, or "0.0.0.0/0" and "::/0" for every source.
std::vector<std::string> acl_patterns(const std::vector<Cidr>& allow_sources);
// The Service's name as services.map and the audit log spell it ("ns/name:port"); "-" when a
// name is not a DNS-1123 label (ServiceRef promises one; a map value must not hold a blank).
std::string service_label(const ServiceRef& service);

// The backends whose ACL file differs between two states (new backends included). It relies on
// what the writers keep true: a backend's file holds its route's allow-list, or allows every
// source when no port maps to it (a removed port's backend is among the touched ones).
std::set<std::string> acl_files_changed(const RangeState& before, const RangeState& after);

// Writes the ACL files of `backends` (of every backend in the layout when `all`), then the three
// maps, ports.map last; a file that already holds its text is left as it is. A backend with no
// route gets the allow-everything list: no port maps to it, so it is never reached.
Result<void> write_range_files(const RangeFiles& files, const RangeState& state, const std::set<std::string>& backends,
                               bool all);

}  // namespace berth::haproxy
