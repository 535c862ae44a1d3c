#include "haproxy/apply_steps.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "common/stable_hash.h"

namespace berth::haproxy {
namespace {

std::optional<int> port_number(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535) return std::nullopt;
  return value;
}

// The next line of `text`, removed from it.
std::string_view take_line(std::string_view& text) {
  const auto newline = text.find('\n');
  const std::string_view line = text.substr(0, newline);
  text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
  return line;
}

}  // namespace

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

std::set<int> bound_ports_of_config(std::string_view text, std::string_view frontend) {
  std::set<int> ports;
  const std::string wanted_section = frontend.empty() ? std::string() : "frontend " + std::string(frontend);
  bool in_scope = frontend.empty();
  while (!text.empty()) {
    const std::string_view line = take_line(text);
    const auto start = line.find_first_not_of(' ');
    if (start == 0 && !line.starts_with('#')) in_scope = frontend.empty() || line == wanted_section;  // a section starts
    if (!in_scope || start == std::string_view::npos || !line.substr(start).starts_with("bind ")) continue;
    auto address = line.substr(start + 5);
    address = address.substr(0, address.find(' '));
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) continue;
    auto range = address.substr(colon + 1);
    const auto dash = range.find('-');
    auto first = port_number(range.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : port_number(range.substr(dash + 1));
    if (!first || !last || *first > *last) continue;
    for (int port = *first; port <= *last; ++port) ports.insert(port);
  }
  return ports;
}

std::string first_difference(std::string_view a, std::string_view b, std::size_t width) {
  for (std::size_t line = 1; !a.empty() || !b.empty(); ++line) {
    const std::string_view left = take_line(a), right = take_line(b);
    if (left != right) {
      return fmt::format("line {}: \"{}\" against \"{}\"", line, left.substr(0, width), right.substr(0, width));
    }
  }
  return "";
}

Error master_still_running(const Error& silence) {
  return Error{silence.code, "the haproxy master does not answer but still runs; waiting for it: " + silence.message};
}

}  // namespace berth::haproxy
