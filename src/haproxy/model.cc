#include "haproxy/model.h"

#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace berth::haproxy {
namespace {

// The positive decimal after `prefix` in `name` ("p26735" → 26735), at most `max`.
std::optional<int> number_after(std::string_view name, char prefix, int max) {
  if (name.size() < 2 || name[0] != prefix) return std::nullopt;
  int value = 0;
  auto [ptr, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), value);
  if (ec != std::errc() || ptr != name.data() + name.size() || value < 1 || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::string proxy_name(int host_port) { return fmt::format("p{}", host_port); }
std::string slot_name(std::size_t slot_index) { return fmt::format("s{}", slot_index + 1); }

std::optional<int> host_port_of_proxy(std::string_view name) { return number_after(name, 'p', 65535); }

std::optional<std::size_t> slot_index_of(std::string_view name) {
  auto number = number_after(name, 's', std::numeric_limits<int>::max());
  if (!number) return std::nullopt;
  return static_cast<std::size_t>(*number - 1);
}

}  // namespace berth::haproxy
