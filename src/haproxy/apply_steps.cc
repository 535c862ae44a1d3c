#include "haproxy/apply_steps.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/stable_hash.h"

namespace berth::haproxy {

std::string config_hash(std::string_view text) { return fmt::format("{:016x}", stable_hash(text)); }

bool command_succeeded(const std::string& answer) {
  return answer.find_first_not_of(" \n") == std::string::npos || answer.find("by 'stats socket command'") != std::string::npos;
}

std::string summarize(const std::vector<std::string>& reasons) {
  constexpr std::size_t kShown = 5;
  std::string out;
  for (std::size_t i = 0; i < reasons.size() && i < kShown; ++i) {
    if (i) out += "; ";
    out += reasons[i];
  }
  if (reasons.size() > kShown) out += fmt::format("; and {} more", reasons.size() - kShown);
  return out;
}

std::string first_alert(const std::string& message) {
  std::string_view view = message;
  auto at = view.find("parsing [");
  if (at == std::string_view::npos) at = view.find("[ALERT]");
  if (at == std::string_view::npos) at = 0;
  view = view.substr(at);
  return std::string(view.substr(0, std::min(view.find(" | "), view.find('\n'))));
}

Error master_still_running(const Error& silence) {
  return Error{silence.code, "the haproxy master does not answer but still runs; waiting for it: " + silence.message};
}

}  // namespace berth::haproxy
