// Durations on the command line in Go's time.ParseDuration syntax ("10m", "15s", "1h30m",
// "500ms"), because every Kubernetes controller flag a platform operator knows uses it
// (--leader-elect-lease-duration=15s).
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth {

// Accepts one or more <decimal number><unit> terms with units ns, us, µs, ms, s, m, h
// ("1.5s", "1h30m", "0.5ms"), and a bare "0". Rejects, with kInvalidArgument quoting the input:
// empty text, a sign (negative durations make no sense for berth's flags), a missing or
// unknown unit, and values beyond about 292 years (the range of int64 nanoseconds).
Result<std::chrono::nanoseconds> parse_go_duration(std::string_view text);

// Go's Duration.String(): "10m0s", "1h30m0s", "500ms", "1.5s", "0s".
std::string format_go_duration(std::chrono::nanoseconds d);

}  // namespace berth
