#include "chaos/service_churn.h"

#include <iterator>

#include <fmt/format.h>

#include "kube/resource.h"

namespace berth::chaos {
namespace {

constexpr const char* kNamespace = "default";
constexpr int kChurnPorts[] = {3306, 5432, 6379, 9000};

std::string key_of(const std::string& name) { return std::string(kNamespace) + "/" + name; }
std::string allocation_key(int port) { return fmt::format("haproxy-ingress/{}", port); }

}  // namespace

const std::map<std::string, std::vector<std::string>>& ChurnOptionValues::valid() {
  static const std::map<std::string, std::vector<std::string>> values = {
      {"check", {"tcp", "none", "redis", "mysql", "pgsql"}},
      {"balance", {"roundrobin", "leastconn", "first", "source"}},
      {"timeout-connect", {"5s", "250ms"}},
      {"timeout-server", {"1h", "30m"}},
      {"maxconn", {"100", "5000"}},
      {"proxy-protocol", {"v1", "v2"}},
      {"allow-sources", {"127.0.0.0/8", "10.0.0.0/8, 127.0.0.1"}}};
  return values;
}

const std::map<std::string, std::vector<std::string>>& ChurnOptionValues::invalid() {
  static const std::map<std::string, std::vector<std::string>> values = {
      {"check", {"tcpx", "tcp\n    bind 0.0.0.0:22"}},
      {"balance", {"random", "roundrobin # x"}},
      {"timeout-connect", {"5 s", "forever"}},
      {"maxconn", {"-1", "many"}},
      {"proxy-protocol", {"v3"}},
      {"allow-sources", {"not-a-cidr", "10.0.0.0/33", "127.0.0.0/8\nserver evil 6.6.6.6:22"}}};
  return values;
}

bool ChurnOptionValues::servable_allow_sources(const std::string& value) {
  for (const std::string& v : valid().at("allow-sources")) {
    if (v == value) return true;
  }
  return false;
}

ServiceChurn::ServiceChurn(kube::ApiClient& api, std::uint64_t seed, int first_port, int last_port, UserWrites& writes)
    : api_(api), rng_(seed), first_port_(first_port), last_port_(last_port), writes_(writes) {}

bool ServiceChurn::ok(bool succeeded, const char* what) {
  ++counts_[what];
  if (!succeeded) ++failures_;
  return succeeded;
}

std::string ServiceChurn::any_live() {
  auto it = live_.begin();
  std::advance(it, pick(static_cast<int>(live_.size())));
  return *it;
}

nlohmann::json ServiceChurn::random_ports() {
  nlohmann::json ports = nlohmann::json::array();
  for (int port : kChurnPorts) {
    if (pick(2) == 0) ports.push_back({{"name", fmt::format("p{}", port)}, {"port", port}, {"protocol", "TCP"}});
  }
  if (pick(5) == 0) ports.push_back({{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}});
  if (ports.empty() || (ports.size() == 1 && ports[0]["protocol"] == "UDP")) {
    ports.push_back({{"name", "p3306"}, {"port", 3306}, {"protocol", "TCP"}});
  }
  return ports;
}

// Some options, valid more often than not; most Services get none.
nlohmann::json ServiceChurn::random_options() {
  nlohmann::json options = nlohmann::json::object();
  for (const auto& [option, valid_values] : ChurnOptionValues::valid()) {
    if (pick(4) != 0) continue;
    const auto& bad = ChurnOptionValues::invalid();
    auto invalid_values = bad.find(option);
    if (invalid_values != bad.end() && pick(4) == 0) {
      options["haproxy-ingress/" + option] = invalid_values->second[pick(static_cast<int>(invalid_values->second.size()))];
    } else {
      options["haproxy-ingress/" + option] = valid_values[pick(static_cast<int>(valid_values.size()))];
    }
  }
  return options;
}

nlohmann::json ServiceChurn::slice_for(const std::string& name) {
  nlohmann::json ports = nlohmann::json::array();
  for (int port : kChurnPorts) ports.push_back({{"name", fmt::format("p{}", port)}, {"port", 10000 + port}, {"protocol", "TCP"}});
  nlohmann::json endpoints = nlohmann::json::array();
  std::set<int> hosts;
  const int count = 1 + pick(3);
  while (static_cast<int>(hosts.size()) < count) hosts.insert(1 + pick(250));
  for (int host : hosts) {
    endpoints.push_back({{"addresses", {fmt::format("127.0.2.{}", host)}}, {"conditions", {{"ready", true}}}});
  }
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata", {{"name", name + "-1"}, {"labels", {{"kubernetes.io/service-name", name}}}}},
          {"addressType", "IPv4"},
          {"ports", ports},
          {"endpoints", endpoints}};
}

// A value a user might write: a pool port (free or held), a port outside the pool, garbage.
std::string ServiceChurn::random_host_port_value() {
  switch (pick(5)) {
    case 0: return std::to_string(first_port_ + pick(last_port_ - first_port_ + 1));
    case 1: return std::to_string(first_port_ + pick(std::min(40, last_port_ - first_port_ + 1)));  // likely held
    case 2: return std::to_string(last_port_ + 1 + pick(100));
    case 3: return pick(2) ? "not-a-port" : "026735";
    default: return std::to_string(first_port_ + pick(last_port_ - first_port_ + 1));
  }
}

bool ServiceChurn::populate(int count) {
  for (int i = 0; i < count; ++i) {
    bool created = false;
    for (int attempt = 0; attempt < 5 && !created; ++attempt) created = create();
    if (!created) return false;
  }
  return true;
}

void ServiceChurn::step(int target) {
  if (live_.empty() || static_cast<int>(live_.size()) < target / 2) {
    create();
    return;
  }
  switch (pick(12)) {
    case 0: static_cast<int>(live_.size()) < target ? (void)create() : remove(); break;
    case 1: remove(); break;
    case 2: change_ports(); break;
    case 3:
    case 4: change_options(); break;
    case 5:
    case 6: move_endpoints(); break;
    case 7: pin(); break;
    case 8: toggle_mark(); break;
    case 9: tamper(); break;
    case 10: copy(); break;
    default: static_cast<int>(live_.size()) < target ? (void)create() : remove(); break;
  }
}

bool ServiceChurn::create() {
  const std::string name = fmt::format("churn-{}", next_++);
  nlohmann::json annotations = random_options();
  annotations["ingress"] = "haproxy-ingress";
  std::map<std::string, std::optional<std::string>> written;
  if (pick(6) == 0) {
    const std::string value = random_host_port_value();
    annotations[allocation_key(3306)] = value;
    written[allocation_key(3306)] = value;
  }
  return create_with_slice(name,
                           {{"apiVersion", "v1"},
                            {"kind", "Service"},
                            {"metadata", {{"name", name}, {"annotations", annotations}}},
                            {"spec", {{"ports", random_ports()}}}},
                           written);
}

bool ServiceChurn::create_with_slice(const std::string& name, const nlohmann::json& service,
                                     const std::map<std::string, std::optional<std::string>>& written) {
  // The slice first: a Service that appears with its endpoints is served at once.
  ok(api_.create(kube::kEndpointSlices, kNamespace, slice_for(name)).has_value(), "create_slice");
  const auto write = writes_.begin(key_of(name), written);
  const bool created = ok(api_.create(kube::kServices, kNamespace, service).has_value(), "create");
  writes_.end(write, created);
  if (created) live_.insert(name);
  return created;
}

void ServiceChurn::remove() {
  if (live_.empty()) return;
  const std::string name = any_live();
  ok(api_.remove(kube::kServices, kNamespace, name).has_value(), "delete");
  ok(api_.remove(kube::kEndpointSlices, kNamespace, name + "-1").has_value(), "delete_slice");
  live_.erase(name);
}

void ServiceChurn::change_ports() {
  const std::string name = any_live();
  ok(api_.patch(kube::kServices, kNamespace, name, kube::PatchType::kMerge, {{"spec", {{"ports", random_ports()}}}})
         .has_value(),
     "change_ports");
}

// Replaces the options: every option key is set to a new value or removed (JSON null).
void ServiceChurn::change_options() {
  const std::string name = any_live();
  nlohmann::json annotations = random_options();
  for (const auto& [option, values] : ChurnOptionValues::valid()) {
    if (!annotations.contains("haproxy-ingress/" + option)) annotations["haproxy-ingress/" + option] = nullptr;
  }
  ok(api_.patch(kube::kServices, kNamespace, name, kube::PatchType::kMerge, {{"metadata", {{"annotations", annotations}}}})
         .has_value(),
     "change_options");
}

void ServiceChurn::move_endpoints() {
  const std::string name = any_live();
  nlohmann::json slice = slice_for(name);
  ok(api_.patch(kube::kEndpointSlices, kNamespace, name + "-1", kube::PatchType::kMerge, {{"endpoints", slice["endpoints"]}})
         .has_value(),
     "move_endpoints");
}

void ServiceChurn::pin() {
  const std::string name = any_live();
  const std::string key = allocation_key(kChurnPorts[pick(4)]);
  const std::string value = std::to_string(first_port_ + pick(last_port_ - first_port_ + 1));
  const auto write = writes_.begin(key_of(name), {{key, value}});
  writes_.end(write, ok(api_.patch(kube::kServices, kNamespace, name, kube::PatchType::kMerge,
                                   {{"metadata", {{"annotations", {{key, value}}}}}})
                            .has_value(),
                        "pin"));
}

void ServiceChurn::toggle_mark() {
  const std::string name = any_live();
  ok(api_.patch(kube::kServices, kNamespace, name, kube::PatchType::kMerge,
                {{"metadata", {{"annotations", {{"ingress", pick(2) ? "haproxy-ingress" : "none"}}}}}})
         .has_value(),
     "toggle_mark");
}

void ServiceChurn::tamper() {
  const std::string name = any_live();
  const std::string key = allocation_key(kChurnPorts[pick(4)]);
  std::optional<std::string> value;
  if (pick(3) != 0) value = random_host_port_value();
  const auto write = writes_.begin(key_of(name), {{key, value}});
  writes_.end(write, ok(api_.patch(kube::kServices, kNamespace, name, kube::PatchType::kMerge,
                                   {{"metadata", {{"annotations", {{key, value ? nlohmann::json(*value) : nlohmann::json(nullptr)}}}}}})
                            .has_value(),
                        "tamper"));
}

// A user copies a Service's manifest, allocation annotations included: each is a host port
// another Service holds.
void ServiceChurn::copy() {
  const std::string source_name = any_live();
  auto source = api_.get(kube::kServices, kNamespace, source_name);
  if (!ok(source.has_value(), "copy")) return;
  const std::string name = fmt::format("churn-{}", next_++);
  const nlohmann::json annotations = (*source)["metadata"].value("annotations", nlohmann::json::object());
  std::map<std::string, std::optional<std::string>> written;
  for (const auto& [key, value] : annotations.items()) {
    if (key.starts_with("haproxy-ingress/") && value.is_string()) written[key] = value.get<std::string>();
  }
  create_with_slice(name,
                    {{"apiVersion", "v1"},
                     {"kind", "Service"},
                     {"metadata", {{"name", name}, {"annotations", annotations}}},
                     {"spec", {{"ports", (*source)["spec"]["ports"]}}}},
                    written);
}

}  // namespace berth::chaos
