#include "haproxy/range/running_state.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "haproxy/apply_steps.h"
#include "haproxy/map_entries.h"
#include "haproxy/range/range_config.h"
#include "haproxy/servers_state.h"

namespace berth::haproxy {
namespace {

std::optional<int> to_int(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "ns/name:port" (services.map's spelling, range_files.h) → ServiceRef; "-" → an unnamed one.
std::optional<ServiceRef> parse_service_label(std::string_view label) {
  if (label == "-") return ServiceRef{};
  const auto slash = label.find('/');
  const auto colon = label.rfind(':');
  if (slash == std::string_view::npos || colon == std::string_view::npos || colon < slash) return std::nullopt;
  auto port = to_int(label.substr(colon + 1));
  if (!port) return std::nullopt;
  return ServiceRef{.ns = std::string(label.substr(0, slash)),
                    .name = std::string(label.substr(slash + 1, colon - slash - 1)),
                    .port = *port};
}

// An ACL file's CIDRs; the allow-everything pair is "every source" (an empty list).
std::optional<std::vector<Cidr>> parse_acl(std::string_view text) {
  std::vector<Cidr> cidrs;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const auto line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (line.empty()) continue;
    auto cidr = Cidr::parse(line);
    if (!cidr) return std::nullopt;
    cidrs.push_back(*cidr);
  }
  std::ranges::sort(cidrs);
  if (cidrs.size() == 2 && cidrs[0].text() == "0.0.0.0/0" && cidrs[1].text() == "::/0") return std::vector<Cidr>{};
  if (cidrs.size() == 2 && cidrs[1].text() == "0.0.0.0/0" && cidrs[0].text() == "::/0") return std::vector<Cidr>{};
  return cidrs;
}

std::vector<PortSpan> spans_of(const std::set<int>& ports) {
  std::vector<PortSpan> spans;
  for (int port : ports) {
    if (!spans.empty() && spans.back().last + 1 == port) {
      spans.back().last = port;
    } else {
      spans.push_back({port, port});
    }
  }
  return spans;
}

}  // namespace

Result<RangeState> rebuild_range_state(const RunningRangeAnswers& answers,
                                       const std::map<std::string, BackendKind>& kinds,
                                       const std::function<std::optional<std::string>(const std::string&)>& acl_text_of) {
  RangeState state;
  state.layout.binds = spans_of(bound_ports_of_config(answers.config_text, kRangeFrontendName));
  std::map<std::string, Slots> slots;
  auto read = for_each_server_state(answers.servers_state, [&](const ServerState& line) {
    auto slot = slot_index_of(line.server);
    if (!slot) return;
    Slots& backend = slots[line.backend];
    if (backend.size() <= *slot) backend.resize(*slot + 1);
    auto address = IpAddress::parse(line.address);
    if (!line.in_maintenance() && address) backend[*slot] = Server{*address, line.port};
  });
  if (!read) return std::unexpected(read.error());
  for (const auto& [name, servers] : slots) {
    auto parsed = parse_range_backend_name(name);
    if (!parsed) continue;  // not a backend range mode renders
    auto kind = kinds.find(parsed->kind_id);
    if (kind == kinds.end()) {
      return make_error(ErrorCode::kInvalid, fmt::format("backend {} is of a kind no Service has now", name));
    }
    state.layout.backends[name] = RangeBackend{kind->second, servers.size()};
  }
  const auto services = parse_show_map(answers.services_map);
  const auto limits = parse_show_map(answers.maxconn_map);
  for (const auto& [port, backend] : parse_show_map(answers.ports_map)) {
    if (!state.layout.backends.contains(backend)) {
      return make_error(ErrorCode::kInvalid, fmt::format("port {} maps to {}, which is not a backend", port, backend));
    }
    Route route{.backend = backend, .slots = slots.at(backend)};
    auto label = services.find(port);
    auto service = label == services.end() ? std::nullopt : parse_service_label(label->second);
    if (!service) return make_error(ErrorCode::kInvalid, fmt::format("port {} has no Service in services.map", port));
    route.service = std::move(*service);
    if (auto limit = limits.find(port); limit != limits.end()) {
      auto value = to_int(limit->second);
      if (!value) return make_error(ErrorCode::kInvalid, fmt::format("port {}: maxconn \"{}\"", port, limit->second));
      route.maxconn = *value;
    }
    auto acl = acl_text_of(backend);
    auto allow = acl ? parse_acl(*acl) : std::nullopt;
    if (!allow) return make_error(ErrorCode::kInvalid, fmt::format("the ACL file of {} is unreadable", backend));
    route.allow_sources = std::move(*allow);
    state.routes[port] = std::move(route);
  }
  std::set<std::string> routed;
  for (const auto& [port, route] : state.routes) routed.insert(route.backend);
  for (const auto& [name, backend] : state.layout.backends) {
    if (!routed.contains(name)) state.draining.insert(name);
  }
  return state;
}

}  // namespace berth::haproxy
