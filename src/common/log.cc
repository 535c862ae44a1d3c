#include "common/log.h"

#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "common/json_log_formatter.h"

namespace berth {
namespace {

std::mutex g_mu;
spdlog::level::level_enum g_level = spdlog::level::info;
bool g_json = false;

// klog-like: level letter, time, component, message.
constexpr const char* kTextPattern = "%L%m%d %H:%M:%S.%f %n] %v";

void apply_format(spdlog::logger& log) {
  if (g_json) {
    log.set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    log.set_pattern(kTextPattern);
  }
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(std::string_view component) {
  std::lock_guard lock(g_mu);
  std::string name(component);
  if (auto existing = spdlog::get(name)) return existing;
  auto log = spdlog::stderr_color_mt(name, spdlog::color_mode::never);
  apply_format(*log);
  log->set_level(g_level);
  return log;
}

bool set_log_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(g_mu);
  g_level = parsed;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(parsed); });
  return true;
}

bool set_log_format(std::string_view format) {
  if (format != "text" && format != "json") return false;
  std::lock_guard lock(g_mu);
  g_json = format == "json";
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { apply_format(*l); });
  return true;
}

}  // namespace berth
