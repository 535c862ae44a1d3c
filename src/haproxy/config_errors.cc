#include "haproxy/config_errors.h"

#include <charconv>
#include <map>
#include <vector>

#include "haproxy/model.h"

namespace berth::haproxy {
namespace {

// The line numbers in "parsing [<path>:<n>]" and "[<path>:<n>]" references of the output.
std::vector<int> error_lines(std::string_view output) {
  std::vector<int> lines;
  for (std::size_t at = output.find(":"); at != std::string_view::npos; at = output.find(':', at + 1)) {
    std::size_t end = at + 1;
    while (end < output.size() && output[end] >= '0' && output[end] <= '9') ++end;
    if (end == at + 1 || end >= output.size() || output[end] != ']') continue;
    int line = 0;
    std::from_chars(output.data() + at + 1, output.data() + end, line);
    if (line > 0) lines.push_back(line);
  }
  return lines;
}

}  // namespace

std::optional<std::set<int>> listeners_blamed(std::string_view haproxy_output, std::string_view config_text) {
  const std::vector<int> lines = error_lines(haproxy_output);
  if (lines.empty()) return std::nullopt;
  // The section each line of the config belongs to: a listener's port, or 0 for any other.
  std::vector<int> section_of = {0};  // line numbers count from 1
  int section = 0;
  for (std::size_t start = 0; start <= config_text.size();) {
    std::size_t end = config_text.find('\n', start);
    if (end == std::string_view::npos) end = config_text.size();
    std::string_view line = config_text.substr(start, end - start);
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == 0) {  // section keywords start a line; everything indented belongs to one
      const std::size_t blank = line.find_first_of(" \t");
      const std::string_view keyword = line.substr(0, blank);
      if (keyword == "frontend" || keyword == "backend" || keyword == "listen") {
        std::string_view name = blank == std::string_view::npos ? "" : line.substr(blank + 1);
        name = name.substr(0, name.find_first_of(" \t"));
        section = host_port_of_proxy(name).value_or(0);
      } else if (keyword[0] != '#') {
        section = 0;  // global, defaults, or a section a custom template added
      }
    }
    section_of.push_back(section);
    start = end + 1;
  }
  std::set<int> blamed;
  for (int line : lines) {
    if (line >= static_cast<int>(section_of.size()) || section_of[line] == 0) return std::nullopt;
    blamed.insert(section_of[line]);
  }
  return blamed;
}

}  // namespace berth::haproxy
