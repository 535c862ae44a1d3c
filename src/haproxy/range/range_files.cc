#include "haproxy/range/range_files.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/atomic_file.h"
#include "haproxy/config_values.h"

namespace berth::haproxy {

RangeFiles RangeFiles::in(const std::filesystem::path& dir) {
  return RangeFiles{.ports_map = dir / "ports.map",
                    .services_map = dir / "services.map",
                    .maxconn_map = dir / "maxconn.map",
                    .acl_dir = dir / "acl"};
}

std::filesystem::path RangeFiles::acl_file(const std::string& backend) const { return acl_dir / (backend + ".acl"); }

std::string service_label(const ServiceRef& service) {
  if (!is_dns_label(service.ns) || !is_dns_label(service.name)) return "-";
  return fmt::format("{}/{}:{}", service.ns, service.name, service.port);
}

std::string ports_map_text(const RangeState& state) {
  std::string text;
  text.reserve(state.routes.size() * 24);
  for (const auto& [port, route] : state.routes) text += fmt::format("{} {}\n", port, route.backend);
  return text;
}

std::string services_map_text(const RangeState& state) {
  std::string text;
  text.reserve(state.routes.size() * 40);
  for (const auto& [port, route] : state.routes) text += fmt::format("{} {}\n", port, service_label(route.service));
  return text;
}

std::string maxconn_map_text(const RangeState& state) {
  std::string text;
  for (const auto& [port, route] : state.routes) {
    if (route.maxconn > 0) text += fmt::format("{} {}\n", port, route.maxconn);
  }
  return text;
}

std::vector<std::string> acl_patterns(const std::vector<Cidr>& allow_sources) {
  if (allow_sources.empty()) return {"0.0.0.0/0", "::/0"};
  std::vector<std::string> patterns;
  for (const auto& cidr : allow_sources) patterns.push_back(cidr.text());
  std::ranges::sort(patterns);
  return patterns;
}

std::string acl_text(const std::vector<Cidr>& allow_sources) {
  std::string text;
  for (const auto& pattern : acl_patterns(allow_sources)) text += pattern + "\n";
  return text;
}

std::set<std::string> acl_files_changed(const RangeState& before, const RangeState& after) {
  auto acl_of = [](const RangeState& state) {
    std::map<std::string, std::string> texts;
    for (const auto& [name, backend] : state.layout.backends) texts[name] = acl_text({});
    for (const auto& [port, route] : state.routes) texts[route.backend] = acl_text(route.allow_sources);
    return texts;
  };
  const auto old_texts = acl_of(before);
  std::set<std::string> changed;
  for (const auto& [name, text] : acl_of(after)) {
    auto it = old_texts.find(name);
    if (it == old_texts.end() || it->second != text) changed.insert(name);
  }
  return changed;
}

namespace {

// A runtime change leaves most of these files as they were (a new port: its backend's ACL still
// allows every source, maxconn.map has no entry; an endpoint change: no map changes), and each
// write costs an fsync and a rename; reading one back from the page cache costs far less.
Result<void> write_if_changed(const std::filesystem::path& path, std::string_view text) {
  if (auto now = read_whole_file(path); now && *now == text) return {};
  return write_file_atomically(path, text, 0600);
}

}  // namespace

Result<void> write_range_files(const RangeFiles& files, const RangeState& state, const std::set<std::string>& backends,
                               bool all) {
  std::error_code ec;
  std::filesystem::create_directories(files.acl_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, fmt::format("cannot create {}: {}", files.acl_dir.string(), ec.message()));
  std::map<std::string, const Route*> route_of;
  for (const auto& [port, route] : state.routes) route_of[route.backend] = &route;
  auto write_acl = [&](const std::string& backend) {
    auto it = route_of.find(backend);
    return write_if_changed(files.acl_file(backend),
                            acl_text(it == route_of.end() ? std::vector<Cidr>{} : it->second->allow_sources));
  };
  if (all) {
    for (const auto& [name, backend] : state.layout.backends) {
      if (auto ok = write_acl(name); !ok) return ok;
    }
  } else {
    for (const auto& name : backends) {
      if (auto ok = write_acl(name); !ok) return ok;
    }
  }
  if (auto ok = write_if_changed(files.maxconn_map, maxconn_map_text(state)); !ok) return ok;
  if (auto ok = write_if_changed(files.services_map, services_map_text(state)); !ok) return ok;
  return write_if_changed(files.ports_map, ports_map_text(state));
}

}  // namespace berth::haproxy
