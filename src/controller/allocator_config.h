// What the port allocation controller is told by its flags (app/options.h turns the command line
// into this; tests build it directly).
//
// Thread-safety: a plain value.
#pragma once

#include <chrono>
#include <string>

#include "common/clock.h"
#include "controller/annotation_keys.h"
#include "ports/port_range_set.h"

namespace berth::controller {

struct AllocatorConfig {
  AnnotationConfig annotations;
  ports::PortRangeSet port_range;  // --port-range (repeatable), united
  ports::PortRangeSet excluded;    // --exclude-ports
  // --port-quarantine: how long a released host port is kept from new Services, so clients of a
  // deleted database cannot reach another tenant's new one on a recycled port.
  Clock::duration quarantine = std::chrono::minutes(10);
  // --max-ports-per-namespace: host ports one namespace may hold; 0 = unlimited.
  int max_ports_per_namespace = 0;
  // --watch-namespace: only Services of this namespace; "" = all.
  std::string watch_namespace;
  // --concurrent-syncs: Services synced in parallel (never one Service twice at once).
  int workers = 4;
  // Where the quarantine is kept between processes: an annotation (quarantine_key()) on this
  // Lease, written only by the allocating instance.
  std::string quarantine_lease_namespace = "default";
  std::string quarantine_lease_name = "berth-quarantine";
};

}  // namespace berth::controller
