// The quarantined host ports, serialized for an annotation on berth's Lease
// (quarantine_key(): "<prefix>/quarantine"), so a quarantine survives restarts and leader
// changes without any state outside the cluster.
//
// Format: a JSON object from host port to its release time in Unix seconds (UTC), sorted by
// port, no spaces: {"20000":1795000000,"25001":1795000600}. Release times are rounded up to the
// second, so a round trip can only lengthen a quarantine, never shorten it.
//
// Why seconds and not RFC 3339 strings: Kubernetes caps all annotations of one object at 256 KiB
// together (keys and values). An entry costs at most 19 bytes ("65535":1795000000,) so 10,000
// quarantined ports take 190,001 bytes; as RFC 3339 strings ("65535":"2026-11-23T19:29:33Z",)
// they would take 310,001 bytes and not fit. The limit is ~13,700 entries of 5-digit ports.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::controller {

using QuarantinedPorts = std::map<int, std::chrono::system_clock::time_point>;  // host port → release time

// Kubernetes' TotalAnnotationSizeLimitB: all annotations of one object together.
inline constexpr std::size_t kMaxTotalAnnotationBytes = 256 * 1024;

// Deterministic: equal maps give equal bytes. Ports are 1..65535 (a caller's invariant).
std::string format_quarantine(const QuarantinedPorts& ports);

struct QuarantineRecord {
  QuarantinedPorts ports;
  std::vector<std::string> problems;  // one line per skipped entry, for a log or Event
};

// Tolerant: an entry whose key is not a canonical port 1..65535 or whose value is not a
// non-negative integer number of seconds (up to 2262-04-11, the end of system_clock) is skipped and reported in `problems`.
// An empty or all-blank text is an empty record. kParse only when the text is not a JSON
// object at all; the caller then decides how to treat a lost record.
Result<QuarantineRecord> parse_quarantine(std::string_view text);

}  // namespace berth::controller
