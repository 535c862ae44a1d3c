// Which host ports HAProxy could not bind right now, found by trying: before a start or reload,
// so one port held by another process never fails the whole config (FACTS.md: a busy port in a
// bound set makes HAProxy fail to start or reload, while `haproxy -c` passes).
//
// For each (address, port): socket(), SO_REUSEADDR as HAProxy sets it (so a port left in
// TIME_WAIT by a closed listener counts as free), never SO_REUSEPORT (HAProxy sets it too, so
// with it a holder that also set SO_REUSEPORT would let the probe — and HAProxy — bind and
// share the port's connections; without it such a holder is reported), IPV6_V6ONLY for IPv6,
// bind(), close(). Nothing listens, so the probe is invisible to clients.
//
// A probe is a snapshot: a port free now can be taken before HAProxy binds it, and ports
// HAProxy itself holds are reported as in use (probe the ports a config adds, not the ones the
// running config already serves).
//
// Thread-safety: a pure function of the system's state; call from any thread.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "haproxy/ip_address.h"

namespace berth::haproxy {

struct PortConflict {
  enum class Reason {
    kInUse,             // EADDRINUSE: another socket holds it
    kPermissionDenied,  // EACCES: a port below 1024 (or ip_unprivileged_port_start) without the privilege
    kNoSuchAddress,     // EADDRNOTAVAIL: the bind address is not on this host
    kOther,
  };
  int port = 0;
  IpAddress address;  // the bind address that failed
  Reason reason = Reason::kInUse;
  std::string message;  // "127.0.0.1:26735: Address already in use"
  bool operator==(const PortConflict&) const = default;
};

// The (address, port) pairs that cannot be bound, ordered by port then address. Empty
// bind_addresses means 0.0.0.0 (HAProxy's "every IPv4 address"). A lone "::" is probed as
// "::" and as 0.0.0.0, because HAProxy binds it dual-stack (model.h) and a port held on any
// IPv4 address fails that bind. Errors: kInvalidArgument for a port outside 1..65535; kIo when
// a socket cannot be made at all (out of descriptors, IPv6 disabled) — not a port's fault.
Result<std::vector<PortConflict>> ports_in_use(const std::vector<IpAddress>& bind_addresses,
                                               std::span<const int> ports);

}  // namespace berth::haproxy
