// The Grafana dashboard in deploy/grafana/ queries only what exists: every metric name in its
// expressions is exported by a running berth or by the HAProxy it starts with
// --haproxy-metrics-bind-address, and the join it relies on (berth_listener_info's proxy label
// against HAProxy's proxy label) holds for a Service with a session open.
//
// Host ports 31697-31698; berth's metrics on 31695, HAProxy's on 31696.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "e2e/dataplane_cluster.h"
#include "support/echo_server.h"
#include "support/eventually.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kBerthMetricsPort = 31695;
constexpr int kHaproxyMetricsPort = 31696;

std::string scrape(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2s);
  client.set_read_timeout(5s);
  auto answer = client.Get("/metrics");
  return answer && answer->status == 200 ? answer->body : std::string();
}

// Every expression of every panel (rows included), recursively.
void collect_exprs(const nlohmann::json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    if (auto expr = node.find("expr"); expr != node.end() && expr->is_string()) out.push_back(*expr);
    for (const auto& [_, child] : node.items()) collect_exprs(child, out);
  } else if (node.is_array()) {
    for (const auto& child : node) collect_exprs(child, out);
  }
}

// A metric family is exported when a sample of it (or of its histogram series) is in `text`.
bool exported(const std::string& text, const std::string& name) {
  for (const char* suffix : {"", "_bucket", "_sum", "_count"}) {
    const std::string sample = name + suffix;
    for (const std::string& line_start : {"\n" + sample + "{", "\n" + sample + " ", "# TYPE " + sample + " "}) {
      if (text.find(line_start) != std::string::npos) return true;
    }
  }
  return false;
}

TEST(DashboardKubeSim, EveryMetricTheDashboardQueriesIsExportedAndTheServiceJoinHolds) {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "../../deploy/grafana/berth-dashboard.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const auto dashboard = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(dashboard.is_discarded()) << path << " is not JSON";
  std::vector<std::string> exprs;
  collect_exprs(dashboard["panels"], exprs);
  ASSERT_GE(exprs.size(), 20u);

  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(DataplaneClusterOptions{
      .port_ranges = {{31697, 31698}},
      .flags = {{"--metrics-bind-address", "127.0.0.1:" + std::to_string(kBerthMetricsPort)},
                {"--haproxy-metrics-bind-address", "127.0.0.1:" + std::to_string(kHaproxyMetricsPort)}}});
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("db", 3306) + slice_yaml("db-1", "db", {"127.0.0.2"}, db.port())));
  auto port = c.wait_for_host_port("db", 3306);
  ASSERT_TRUE(port) << c.berth().log();
  std::unique_ptr<TcpClient> session;
  ASSERT_TRUE(eventually(
      [&] {
        auto held = session_with("127.0.0.1", *port, "db", 2s);
        if (held) session = std::move(*held);
        return held.has_value();
      },
      kWait))
      << c.berth().log();

  const std::string proxy = "p" + std::to_string(*port);
  std::string berth_text, haproxy_text;
  ASSERT_TRUE(eventually(
      [&] {
        berth_text = scrape(kBerthMetricsPort);
        haproxy_text = scrape(kHaproxyMetricsPort);
        return berth_text.find("berth_listener_info{proxy=\"" + proxy + "\"") != std::string::npos &&
               haproxy_text.find("haproxy_frontend_current_sessions{proxy=\"" + proxy + "\"} 1") != std::string::npos;
      },
      kWait))
      << "berth:\n" << berth_text << "\nhaproxy:\n" << haproxy_text.substr(0, 4000);
  EXPECT_NE(berth_text.find("berth_listener_info{proxy=\"" + proxy + "\",host_port=\"" + std::to_string(*port) +
                            "\",service=\"default/db\",service_port=\"3306\"} 1\n"),
            std::string::npos)
      << berth_text;

  static const std::regex metric(R"(\b((?:berth|haproxy)_[a-z0-9_]+)\b)");
  std::set<std::string> names;
  for (const std::string& expr : exprs) {
    for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end; it != end; ++it) names.insert((*it)[1]);
  }
  ASSERT_GE(names.size(), 20u);
  for (const std::string& name : names) {
    const std::string& text = name.starts_with("berth_") ? berth_text : haproxy_text;
    EXPECT_TRUE(exported(text, name)) << name << " is queried by the dashboard but not exported";
  }
}

}  // namespace
}  // namespace berth::testing
