// Checks for the values of GlobalSettings that come from flags: paths and the log target
// reach the config verbatim, so they are held to a small safe alphabet here.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "haproxy/model.h"

namespace berth::haproxy {

// "" when `path` is absolute, at most `max_length` bytes, of [A-Za-z0-9._/-] only and without
// "." or ".." components; else why not.
std::string config_path_error(std::string_view path, std::size_t max_length = 200);

// The longest UNIX socket path berth accepts: sun_path holds 108 bytes with the NUL, and
// MariaDB/PostgreSQL/HAProxy all fail beyond it (FACTS.md).
inline constexpr std::size_t kMaxSocketPath = 107;

// --haproxy-log-target: "none", "stdout", "stderr", an absolute path (a syslog UNIX socket such
// as /dev/log) or "<ip>:<port>" / "[<ipv6>]:<port>" (UDP syslog). kInvalidArgument otherwise.
Result<LogTarget> parse_log_target(std::string_view text);

}  // namespace berth::haproxy
