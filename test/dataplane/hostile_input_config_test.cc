// What users write never reaches haproxy.cfg unchecked: Services with hostile names and every
// option annotation set to hostile values go through the real ModelBuilder and the built-in
// template, and the result must pass the real `haproxy -c` with none of the hostile text in it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "common/atomic_file.h"
#include "dataplane/model_builder.h"
#include "haproxy/config_renderer.h"
#include "haproxy/haproxy_master.h"
#include "support/temp_dir.h"

namespace berth::dataplane {
namespace {

using ServicePtr = kube::Store<kube::Service>::Ptr;
using SlicePtr = kube::Store<kube::EndpointSlice>::Ptr;

// Values that would break a config line if they reached one.
const std::vector<std::string>& hostile_values() {
  static const std::vector<std::string> values = {
      "tcp\n    bind 0.0.0.0:22",  "x # comment",           "\"quoted\"",  "has blank",  "{{brace}}",
      std::string(10000, 'a'),   "ünïcödé",              "tab\there",  "semi;colon", std::string("nul\0byte", 8),
      "10.0.0.0/8\nserver evil 6.6.6.6:22", "' or 1=1", "$(reboot)", "%[src]", "\\"};
  return values;
}

const std::vector<std::string>& option_keys() {
  static const std::vector<std::string> keys = {"check",         "check-user",      "check-http",    "balance",
                                                "timeout-connect", "timeout-client", "timeout-server", "maxconn",
                                                "proxy-protocol",  "allow-sources",  "backend",        "no-such-option"};
  return keys;
}

ServicePtr service(std::string ns, std::string name, int host_port, std::map<std::string, std::string> extra) {
  auto s = std::make_shared<kube::Service>();
  s->meta.namespace_ = std::move(ns);
  s->meta.name = std::move(name);
  s->meta.uid = fmt::format("uid-{}", host_port);
  s->meta.resource_version = "1";
  s->meta.creation_timestamp = "2026-12-01T00:00:00Z";
  s->meta.annotations = std::move(extra);
  s->meta.annotations["ingress"] = "haproxy-ingress";
  s->meta.annotations["haproxy-ingress/3306"] = std::to_string(host_port);
  s->cluster_ip = "10.96.0.10";
  s->ports = {kube::ServicePort{.name = "db", .port = 3306, .target_port = {std::int32_t{3306}}}};
  return s;
}

SlicePtr slice_of(const kube::Service& service, std::vector<std::string> addresses) {
  auto s = std::make_shared<kube::EndpointSlice>();
  s->meta.namespace_ = service.meta.namespace_;
  s->meta.name = service.meta.name + "-1";
  s->meta.resource_version = "1";
  s->service_name = service.meta.name;
  s->address_type = "IPv4";
  s->ports = {kube::EndpointPort{.name = "db", .port = 3306}};
  for (auto& a : addresses) s->endpoints.push_back(kube::Endpoint{.addresses = {std::move(a)}});
  return s;
}

TEST(HostileInputConfig, NothingAUserWritesReachesTheConfigAndHaproxyAcceptsTheResult) {
  std::vector<ServicePtr> services;
  std::vector<SlicePtr> slices;
  int host_port = 20000;
  // Every option with every hostile value, one Service each; endpoints with hostile addresses.
  for (const auto& key : option_keys()) {
    for (const auto& value : hostile_values()) {
      auto s = service("tenant", fmt::format("svc-{}", host_port), host_port, {{"haproxy-ingress/" + key, value}});
      slices.push_back(slice_of(*s, {"10.0.0.1", value}));
      services.push_back(s);
      ++host_port;
    }
  }
  // Hostile namespaces and names: never served (a real API server refuses them anyway).
  for (const auto& value : hostile_values()) {
    services.push_back(service(value, "svc", host_port++, {}));
    services.push_back(service("tenant", value, host_port++, {}));
  }

  ports::PortRangeSet pool = *ports::PortRangeSet::parse(std::vector<std::string>{"20000-29999"});
  const BuiltModel built = *ModelBuilder(controller::AnnotationConfig{}, pool).build(services, slices, {});
  ASSERT_FALSE(built.model.listeners.empty());
  std::size_t warned = 0;
  for (const auto& [key, list] : built.warnings) warned += list.size();
  EXPECT_GE(warned, option_keys().size() * hostile_values().size()) << "every hostile value is reported";

  haproxy::Config config;
  config.model = built.model;
  auto renderer = haproxy::ConfigRenderer::create(std::string(haproxy::ConfigRenderer::default_template()));
  ASSERT_TRUE(renderer);
  testing::TempDir dir;
  config.global.admin_socket = (dir.path() / "admin.sock").string();
  const std::string text = renderer->render(config);

  // The distinctive part of each hostile value: what no validated value contains.
  for (std::string_view needle : {"bind 0.0.0.0:22", "# comment", "\"quoted\"", "has blank", "{{", "ünï", "\t",
                                  ";colon", "6.6.6.6", "or 1=1", "$(", "%[src]", "\\"}) {
    EXPECT_EQ(text.find(needle), std::string::npos) << "\"" << needle << "\" reached the config";
  }
  EXPECT_EQ(text.find(std::string(1, '\0')), std::string::npos);
  EXPECT_EQ(text.find(std::string(100, 'a')), std::string::npos);
  for (char c : text) {
    EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << "a control or non-ASCII byte: " << static_cast<int>(c);
    if (!(c == '\n' || (c >= 0x20 && c < 0x7f))) break;
  }
  // One frontend and one backend per listener, nothing else.
  std::size_t frontends = 0, pos = 0;
  while ((pos = text.find("\nfrontend ", pos)) != std::string::npos) {
    ++frontends;
    ++pos;
  }
  EXPECT_EQ(frontends, built.model.listeners.size());

  const auto path = dir.path() / "haproxy.cfg";
  ASSERT_TRUE(write_file_atomically(path, text));
  auto checked = haproxy::check_config("/usr/sbin/haproxy", path, std::chrono::seconds(60));
  EXPECT_TRUE(checked) << checked.error().message;
}

}  // namespace
}  // namespace berth::dataplane
