#include "controller/allocation_annotations.h"

#include <algorithm>
#include <set>

#include "common/ascii.h"
#include "controller/tcp_ports.h"

namespace berth::controller {
namespace {

// Canonical decimal 1..65535, or nullopt; shared by keys and values so both follow one rule.
std::optional<int> parse_port_number(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.front() == '0' || !is_ascii_digits(text)) {
    return std::nullopt;
  }
  int value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  if (value > 65535) return std::nullopt;
  return value;
}

}  // namespace

HostPortValue parse_host_port(std::string_view text) {
  auto invalid = [&](std::string reason) { return InvalidValue{std::string(text), std::move(reason)}; };
  if (text.empty()) return invalid("empty");
  if (!is_ascii_digits(text)) return invalid("not a number");
  if (text.size() > 1 && text.front() == '0') return invalid("leading zero");
  if (auto port = parse_port_number(text)) return *port;
  return invalid("out of range 1..65535");
}

AllocationAnnotations read_allocation_annotations(const kube::Service& service, const AnnotationConfig& config) {
  std::set<int> tcp;
  for (const kube::ServicePort& port : tcp_ports(service).tcp) tcp.insert(port.port);

  AllocationAnnotations result;
  for (const auto& [key, value] : service.meta.annotations) {
    if (!is_allocation_key(config, key)) continue;
    std::optional<int> service_port = parse_port_number(*name_under_prefix(config, key));
    if (service_port && tcp.contains(*service_port)) {
      result.by_service_port.emplace(*service_port, parse_host_port(value));
    } else {
      result.stale.push_back({key, parse_host_port(value)});
    }
  }
  return result;
}

kube::AnnotationChanges allocation_changes(const kube::ObjectMeta& meta, const AnnotationConfig& config,
                                           const std::map<int, int>& desired) {
  kube::AnnotationChanges changes;
  std::set<std::string> wanted;
  for (const auto& [service_port, host_port] : desired) {
    std::string key = allocation_key(config, service_port);
    std::string value = std::to_string(host_port);
    auto it = meta.annotations.find(key);
    if (it == meta.annotations.end() || it->second != value) changes.emplace(key, value);
    wanted.insert(std::move(key));
  }
  for (const auto& [key, value] : meta.annotations) {
    if (is_allocation_key(config, key) && !wanted.contains(key)) changes.emplace(key, std::nullopt);
  }
  return changes;
}

}  // namespace berth::controller
