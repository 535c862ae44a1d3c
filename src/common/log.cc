#include "common/log.h"

#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace berth {
namespace {

std::mutex g_mu;
spdlog::level::level_enum g_level = spdlog::level::info;

}  // namespace

std::shared_ptr<spdlog::logger> logger(std::string_view component) {
  std::lock_guard lock(g_mu);
  std::string name(component);
  if (auto existing = spdlog::get(name)) return existing;
  auto log = spdlog::stderr_color_mt(name, spdlog::color_mode::never);
  // klog-like: level letter, time, component, message.
  log->set_pattern("%L%m%d %H:%M:%S.%f %n] %v");
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

}  // namespace berth
