// Named loggers, one per component (STYLE.md: "one named logger per component, key=value
// fields with service=ns/name; info only for state changes; never a token").
//
//   auto log = berth::logger("reflector");
//   log->info("relisted kind=Service items={}", n);
//
// Thread-safety: spdlog loggers are thread-safe; logger() may be called from any thread.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace berth {

// Returns the logger for `component`, creating it (stderr, shared format and level) on first use.
std::shared_ptr<spdlog::logger> logger(std::string_view component);

// Sets the level of every existing and future logger ("trace".."off"). Returns false for an
// unknown level name.
bool set_log_level(std::string_view level);

// "text" (klog-like, the default) or "json" (one object per line: common/json_log_formatter.h)
// for every existing and future logger. Returns false for another name.
bool set_log_format(std::string_view format);

}  // namespace berth
