// How values of the model (model.h) are spelled in haproxy.cfg, shared by both renderers: the
// per-port template (config_renderer.h) and range mode's (range/range_config.h).
//
// The checked_* functions guard the alphabet model.h promises: a value outside it would be a bug
// upstream that could add config lines, so they abort rather than return it.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "haproxy/model.h"

namespace berth::haproxy {

// Where an empty server slot points until the Runtime API gives it a server; the slot is
// disabled, so nothing is ever sent there.
inline constexpr std::string_view kPlaceholderAddress = "127.0.0.1:1";

// The largest unit that states the value exactly: 24h stays "24h", 1500 ms is "1500ms".
std::string format_duration(std::chrono::milliseconds duration);

std::string_view balance_keyword(Balance balance);

// An absolute path of [A-Za-z0-9._/-] (model.h), returned as is; aborts otherwise.
const std::string& checked_path(std::string_view what, const std::string& path);

// The user a mysql/pgsql check logs in as ("" = HAProxy's default; pgsql gets "postgres", which
// it cannot go without); "" for other checks. Aborts on a user outside [A-Za-z0-9_.-]{0,63}.
std::string checked_check_user(const BackendOptions& options);

// The HTTP check's path; aborts unless it starts with '/' and is at most 256 of [A-Za-z0-9._~/-].
const std::string& checked_http_path(const HttpCheck& check);

// ServiceRef promises DNS-1123 labels, but names are only ever printed in comments and logs, so
// one that is not a label is left out rather than trusted.
bool is_dns_label(std::string_view text);

}  // namespace berth::haproxy
