#include "haproxy/map_entries.h"

#include <charconv>

#include "haproxy/cli_fields.h"

namespace berth::haproxy {

std::map<int, std::string> parse_show_map(std::string_view text) {
  std::map<int, std::string> entries;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    const auto fields = cli_fields(line);
    if (fields.size() != 3) continue;
    int port = 0;
    auto [end, ec] = std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), port);
    if (ec != std::errc() || end != fields[1].data() + fields[1].size() || port < 1 || port > 65535) continue;
    entries.emplace(port, std::string(fields[2]));
  }
  return entries;
}

}  // namespace berth::haproxy
