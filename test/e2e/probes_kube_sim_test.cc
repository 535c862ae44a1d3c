// /metrics, /healthz and /readyz of the berth binary, against kube-sim with the HAProxy data
// plane, and the flags' errors. Host ports 31700-31799; the endpoints on 31690-31691.
#include <gtest/gtest.h>
#include <httplib.h>

#include <string>

#include "e2e/dataplane_cluster.h"
#include "support/child_process.h"
#include "support/echo_server.h"
#include "support/eventually.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kMetricsPort = 31690;
constexpr int kProbePort = 31691;

int status_of(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  auto res = client.Get(path.c_str());
  return res ? res->status : -1;
}

std::string metrics_text() {
  httplib::Client client("127.0.0.1", kMetricsPort);
  client.set_connection_timeout(2, 0);
  auto res = client.Get("/metrics");
  return res && res->status == 200 ? res->body : "";
}

bool has_line(const std::string& text, const std::string& line) {
  return text.starts_with(line + "\n") || text.find("\n" + line + "\n") != std::string::npos;
}

TEST(ProbesKubeSim, ReadyAfterTheFirstApplyAndMetricsFollowTheCluster) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(31700, {"--metrics-bind-address", "127.0.0.1:" + std::to_string(kMetricsPort),
                             "--health-probe-bind-address", "127.0.0.1:" + std::to_string(kProbePort)});
  ASSERT_TRUE(c.start()) << c.berth().log();
  EXPECT_EQ(status_of(kProbePort, "/healthz"), 200);
  ASSERT_TRUE(eventually([&] { return status_of(kProbePort, "/readyz") == 200; }, 30s)) << c.berth().log();
  EXPECT_EQ(status_of(kProbePort, "/metrics"), 404) << "metrics are on their own address";
  EXPECT_EQ(status_of(kMetricsPort, "/readyz"), 404);

  ASSERT_TRUE(c.kubectl_apply(service_yaml("db", 3306) + slice_yaml("db-1", "db", {"127.0.0.2"}, db.port())));
  ASSERT_TRUE(c.wait_for_host_port("db", 3306)) << c.berth().log();
  std::string text;
  EXPECT_TRUE(eventually(
      [&] {
        text = metrics_text();
        return has_line(text, "berth_haproxy_listeners 1") && has_line(text, "berth_pool_ports{state=\"allocated\"} 1");
      },
      30s))
      << text;
  EXPECT_TRUE(has_line(text, "berth_leader 1")) << text;
  EXPECT_TRUE(has_line(text, "berth_caches_synced 1")) << text;
  EXPECT_TRUE(has_line(text, "berth_pool_size 100")) << text;
  EXPECT_TRUE(has_line(text, "berth_pool_ports{state=\"free\"} 99")) << text;
  EXPECT_TRUE(has_line(text, "berth_cached_objects{kind=\"Service\"} 1")) << text;
  EXPECT_NE(text.find("# TYPE berth_allocator_writes_total counter\nberth_allocator_writes_total "), std::string::npos)
      << text;

  // A second berth cannot take the same metrics port: it says so and exits, serving nothing.
  auto second = run_command({BERTH_BIN, "--kubeconfig", c.kube().sim().kubeconfig_path().string(), "--dataplane=none",
                             "--metrics-bind-address", "127.0.0.1:" + std::to_string(kMetricsPort)},
                            30s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->exit_code, 1);
  EXPECT_NE(second->err.find("--metrics-bind-address"), std::string::npos) << second->err;
  EXPECT_NE(second->err.find("127.0.0.1:" + std::to_string(kMetricsPort)), std::string::npos) << second->err;
  EXPECT_TRUE(has_line(metrics_text(), "berth_haproxy_listeners 1")) << "the first berth still serves its metrics";
}

TEST(ProbesKubeSim, BadBindAddressesAreUsageErrors) {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--metrics-bind-address", "localhost:8080"},
           {"--health-probe-bind-address", "127.0.0.1:99999"},
           {"--metrics-bind-address", "8080"}}) {
    auto run = run_command({BERTH_BIN, flag, value}, 30s);
    ASSERT_TRUE(run);
    EXPECT_EQ(run->exit_code, 2) << flag << " " << value;
    EXPECT_NE(run->err.find(flag), std::string::npos) << run->err;
  }
  auto same = run_command({BERTH_BIN, "--metrics-bind-address", ":31692", "--health-probe-bind-address", ":31692"}, 30s);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->exit_code, 2);
  EXPECT_NE(same->err.find("different ports"), std::string::npos) << same->err;
}

}  // namespace
}  // namespace berth::testing
