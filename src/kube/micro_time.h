// RFC 3339 timestamps as the API server writes them: metav1.Time ("2026-11-23T19:29:33Z") and
// metav1.MicroTime ("2026-11-23T19:29:33.123456Z"), used by Lease renewTime and Event times.
//
// These are wall-clock times, so they use std::chrono::system_clock, not berth::Clock (which
// is monotonic and only measures intervals).
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth::kube {

// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, microseconds).
std::string format_micro_time(std::chrono::system_clock::time_point t);
// "YYYY-MM-DDTHH:MM:SSZ" (UTC, seconds).
std::string format_time(std::chrono::system_clock::time_point t);
// Accepts both forms, any number of fraction digits, and "Z" or a "+HH:MM"/"-HH:MM" offset.
// kParse on anything else.
Result<std::chrono::system_clock::time_point> parse_time(std::string_view text);

}  // namespace berth::kube
