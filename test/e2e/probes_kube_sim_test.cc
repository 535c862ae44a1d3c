// What an operator relies on, with the berth binary against kube-sim and the HAProxy data
// plane: /metrics, /healthz and /readyz and their flags' errors, a SIGTERM shutdown, JSON logs.
// Host ports 31700-31909; the endpoints on 31690-31691.
#include <gtest/gtest.h>
#include <httplib.h>

#include <string>

#include <nlohmann/json.hpp>

#include "e2e/dataplane_cluster.h"
#include "kube/resource.h"
#include "support/berth_process.h"
#include "support/child_process.h"
#include "support/echo_server.h"
#include "support/eventually.h"
#include "support/kube_sim_cluster.h"

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
        // The desired config has the listener before the reload that serves it is confirmed.
        return has_line(text, "berth_haproxy_listeners 1") && has_line(text, "berth_pool_ports{state=\"allocated\"} 1") &&
               has_line(text, "berth_haproxy_reloads_total 1") &&
               // The sync loop observes the apply just after the Driver counted the reload.
               has_line(text, "berth_haproxy_reload_duration_seconds_count 2");
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
  // HAProxy: started once (no Service yet), then reloaded for the new listener.
  EXPECT_TRUE(has_line(text, "berth_haproxy_starts_total 1")) << text;
  EXPECT_TRUE(has_line(text, "berth_haproxy_reload_reasons_total{reason=\"initial\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "berth_haproxy_reload_reasons_total{reason=\"listener_added\"} 1")) << text;
  // The worker the reload replaced holds no session and exits, but maybe only after the
  // reload was confirmed; the gauge follows at berth's next look (every --haproxy-check-period).
  EXPECT_TRUE(eventually([&] { return has_line(text = metrics_text(), "berth_haproxy_old_workers 0"); }, 30s)) << text;
  // The start (no Service yet) and the reload that added the listener, each timed by what it did.
  EXPECT_TRUE(has_line(text, "berth_dataplane_apply_duration_seconds_count{action=\"start\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "berth_dataplane_apply_duration_seconds_count{action=\"reload\"} 1")) << text;
  // One allocation: the allocator synced the Service at least once, and the API answered.
  EXPECT_EQ(text.find("berth_allocator_sync_duration_seconds_count 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nberth_allocator_sync_duration_seconds_count "), std::string::npos) << text;
  EXPECT_NE(text.find("\nberth_kube_api_requests_total{client=\"main\",code=\"200\"} "), std::string::npos) << text;
  EXPECT_NE(text.find("\nberth_kube_api_requests_total{client=\"events\",code=\"201\"} "), std::string::npos) << text;
  EXPECT_TRUE(has_line(text, "berth_reflector_lists_total{kind=\"EndpointSlice\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "berth_reflector_relists_total{kind=\"Service\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "berth_reflector_skipped_objects_total{kind=\"Service\"} 0")) << text;

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

// SIGTERM, as the kubelet sends it: berth releases the Lease (a standby takes over at once),
// exits 0, and HAProxy keeps serving every session and port.
TEST(ProbesKubeSim, SigtermReleasesTheLeaseAndLeavesHaproxyServing) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(31800, {"--leader-elect", "--leader-election-namespace", "default"});
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("db", 3306) + slice_yaml("db-1", "db", {"127.0.0.2"}, db.port())));
  auto port = c.wait_for_host_port("db", 3306);
  ASSERT_TRUE(port) << c.berth().log();
  ASSERT_TRUE(c.wait_for_applied(1)) << c.berth().log();
  auto session = TcpClient::connect("127.0.0.1", *port, 2s);
  ASSERT_TRUE(session);
  ASSERT_EQ((*session)->read_line(2s).value_or(""), "db");
  auto before = c.haproxy_status();
  ASSERT_TRUE(before);
  auto lease = c.kube().api().get(kube::kLeases, "default", "berth");
  ASSERT_TRUE(lease);
  ASSERT_FALSE((*lease)["spec"].value("holderIdentity", "").empty()) << lease->dump();

  auto code = c.berth().stop();  // SIGTERM
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << c.berth().log();
  lease = c.kube().api().get(kube::kLeases, "default", "berth");
  ASSERT_TRUE(lease);
  // Released as client-go releases: no holder (an empty holderIdentity is omitted in JSON).
  const auto& spec = (*lease)["spec"];
  EXPECT_TRUE(!spec.contains("holderIdentity") || spec["holderIdentity"].is_null() ||
              spec["holderIdentity"] == "")
      << "the Lease is released for a standby: " << lease->dump();
  auto after = c.haproxy_status();
  ASSERT_TRUE(after) << "HAProxy keeps running without berth";
  EXPECT_EQ(after->master.pid, before->master.pid);
  EXPECT_EQ(after->master.reloads, before->master.reloads);
  EXPECT_TRUE((*session)->round_trip("still here", 2s)) << "the open session was not touched";
  EXPECT_EQ(greeting_at("127.0.0.1", *port, 2s).value_or(""), "db") << "new connections are still served";
}

// --log-format json: every line berth writes is one JSON object; berth's key=value fields are
// fields of it.
TEST(ProbesKubeSim, JsonLogsAreOneObjectPerLine) {
  KubeSimCluster cluster;
  ASSERT_TRUE(cluster.ready()) << cluster.error();
  BerthProcess berth({"--kubeconfig", cluster.sim().kubeconfig_path().string(), "--port-range", "31900-31909",
                      "--dataplane=none", "--log-format", "json"});
  ASSERT_TRUE(berth.start());
  ASSERT_TRUE(berth.wait_for_log("port pool rebuilt", 30s)) << berth.log();
  ASSERT_TRUE(berth.stop());
  const std::string log = berth.log();
  std::size_t lines = 0;
  bool saw_rebuild = false;
  for (std::size_t start = 0; start < log.size();) {
    const auto end = log.find('\n', start);
    const std::string line = log.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? log.size() : end + 1;
    if (line.empty()) continue;
    auto json = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << "not JSON: " << line;
    ASSERT_TRUE(json.contains("ts") && json.contains("level") && json.contains("logger") && json.contains("msg")) << line;
    ++lines;
    if (json["msg"] == "port pool rebuilt") {
      saw_rebuild = true;
      EXPECT_EQ(json["logger"], "allocator");
      EXPECT_EQ(json.value("pool", ""), "10") << line;
    }
  }
  EXPECT_GE(lines, 3u);
  EXPECT_TRUE(saw_rebuild) << log;
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
