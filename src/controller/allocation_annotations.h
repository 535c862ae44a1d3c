// Reading and writing the write-back annotations "<prefix>/<service port>: <host port>" of a
// Service. Annotations are berth's only state, and users may write these keys by hand (pinned
// ports), so every value is parsed strictly and every oddity is reported, never fatal.
//
// Only keys whose name part is all digits are allocations; other keys under the prefix are
// options ("haproxy-ingress/check") and are neither read nor touched here.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "controller/annotation_keys.h"
#include "kube/annotation_patch.h"
#include "kube/service.h"

namespace berth::controller {

// An annotation value that is not a host port, kept verbatim for the Warning Event.
struct InvalidValue {
  std::string raw;
  std::string reason;  // "not a number", "out of range", "leading zero", ...
  bool operator==(const InvalidValue&) const = default;
};

// A host port 1..65535, or why the value is not one.
using HostPortValue = std::variant<int, InvalidValue>;

// Canonical decimal only: "26735" is accepted; "026735", "+1", "-1", " 1", "1 ", "", "abc",
// "70000", "0" are not (a value berth would not have written is a user's mistake to report).
HostPortValue parse_host_port(std::string_view text);

// An allocation annotation whose key names no TCP port of the spec: its port was removed, is
// UDP/SCTP, or the key is not a canonical port ("haproxy-ingress/03306", "haproxy-ingress/0").
struct StaleAllocation {
  std::string key;
  HostPortValue host_port;  // what it held, so the controller can quarantine it
  bool operator==(const StaleAllocation&) const = default;
};

struct AllocationAnnotations {
  // TCP spec port (see tcp_ports.h) → its annotation value; ports without an annotation are absent.
  std::map<int, HostPortValue> by_service_port;
  std::vector<StaleAllocation> stale;  // in key order
};

// Reads every allocation annotation of the Service, whether or not it is marked.
AllocationAnnotations read_allocation_annotations(const kube::Service& service, const AnnotationConfig& config);

// The changes that turn the Service's allocation annotations into exactly `desired`
// (service port → host port, both 1..65535): keys to set whose value differs, allocation keys
// not in `desired` to delete (nullopt). Other annotations are never touched. Empty when nothing
// differs, so the caller can skip the write.
kube::AnnotationChanges allocation_changes(const kube::ObjectMeta& meta, const AnnotationConfig& config,
                                           const std::map<int, int>& desired);

}  // namespace berth::controller
