#include "haproxy/range/range_state.h"

#include <algorithm>

namespace berth::haproxy {

bool RangeLayout::binds_port(int port) const {
  auto it = std::upper_bound(binds.begin(), binds.end(), port, [](int p, const PortSpan& span) { return p < span.first; });
  return it != binds.begin() && std::prev(it)->last >= port;
}

std::set<std::string> RangeState::free_backends() const {
  std::set<std::string> used = draining;
  for (const auto& [port, route] : routes) used.insert(route.backend);
  std::set<std::string> free;
  for (const auto& [name, backend] : layout.backends) {
    if (!used.contains(name)) free.insert(name);
  }
  return free;
}

std::size_t RangePolicy::servers_for(std::size_t servers) const {
  return std::max(min_servers, servers * growth_factor);
}

std::vector<PortSpan> split_spans(const std::vector<PortSpan>& pool, const std::set<int>& holes) {
  std::vector<PortSpan> spans;
  for (const auto& span : pool) {
    int first = span.first;
    for (auto it = holes.lower_bound(span.first); it != holes.end() && *it <= span.last; ++it) {
      if (*it > first) spans.push_back({first, *it - 1});
      first = *it + 1;
    }
    if (first <= span.last) spans.push_back({first, span.last});
  }
  return spans;
}

}  // namespace berth::haproxy
