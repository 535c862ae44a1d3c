// What range mode runs, in two layers:
//
//   RangeLayout  what haproxy.cfg declares and only a reload changes: the port spans the one
//                frontend binds (the pool, split around excluded and busy ports) and the backends,
//                each of one BackendKind with a fixed number of server slots.
//   RangeState   the layout plus what the Runtime API changes: which host port routes to which
//                backend (the ports map), each route's servers, maxconn and allow-list, and the
//                backends draining the sessions of a port that went away.
//
// A backend is in one of three states: routed (a Route names it), draining (its port was
// removed; its servers are in maintenance and its sessions run until they end) or free.
//
// Thread-safety: value types.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "haproxy/model.h"
#include "haproxy/range/backend_kind.h"

namespace berth::haproxy {

struct PortSpan {
  int first = 0;  // inclusive
  int last = 0;   // inclusive
  auto operator<=>(const PortSpan&) const = default;
};

struct RangeBackend {
  BackendKind kind;
  std::size_t servers = 0;  // server slots "s1".."s<servers>"
  auto operator<=>(const RangeBackend&) const = default;
};

struct RangeLayout {
  std::vector<PortSpan> binds;                    // sorted, disjoint
  std::map<std::string, RangeBackend> backends;  // by name (backend_kind.h)
  bool operator==(const RangeLayout&) const = default;

  bool binds_port(int port) const;
};

// One exposed host port.
struct Route {
  std::string backend;
  ServiceRef service;
  Slots slots;  // one entry per server slot of the backend
  int maxconn = 0;
  std::vector<Cidr> allow_sources;  // sorted; empty = every source
  bool operator==(const Route&) const = default;
};

struct RangeState {
  RangeLayout layout;
  std::map<int, Route> routes;      // by host port
  std::set<std::string> draining;   // backends whose port was removed
  bool operator==(const RangeState&) const = default;

  // Backends neither routed nor draining.
  std::set<std::string> free_backends() const;
};

// How the layout grows when a kind has no free backend left for a new port.
struct RangePolicy {
  std::size_t chunk = 64;          // backends added to a kind at once (--range-backend-chunk)
  std::size_t min_servers = 2;     // server slots of a new backend at least (--min-server-slots)
  std::size_t growth_factor = 2;   // a backend made for n servers gets max(min_servers, n × this)

  std::size_t servers_for(std::size_t servers) const;
};

// `pool` (sorted, disjoint spans) without `holes`: the spans a frontend binds.
std::vector<PortSpan> split_spans(const std::vector<PortSpan>& pool, const std::set<int>& holes);

}  // namespace berth::haproxy
