// Splitting the lines HAProxy's CLI answers with (`show proc`, `show servers state`) into their
// blank-separated fields.
//
// Thread-safety: a pure function.
#pragma once

#include <string_view>
#include <vector>

namespace berth::haproxy {

// The fields of `line`, split at runs of spaces and tabs; views into `line`.
std::vector<std::string_view> cli_fields(std::string_view line);

}  // namespace berth::haproxy
