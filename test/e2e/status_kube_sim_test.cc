// `berth status` as an operator runs it: the real binary asking a running berth (kube-sim, the
// HAProxy it started, echo servers as databases) what it serves, in JSON and as a table.
//
// Host ports 31650-31689, berth's metrics listener on 31693 (docs/development.md lists the blocks).
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/dataplane_cluster.h"
#include "support/echo_server.h"
#include "support/eventually.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int kStatusMetricsPort = 31693;
const std::string kStatusAddress = "127.0.0.1:" + std::to_string(kStatusMetricsPort);

Result<CommandResult> berth_status(std::vector<std::string> args) {
  args.insert(args.begin(), {BERTH_BIN, "status"});
  return run_command(args, 30s);
}

// The row of `service` in a status document; null when there is none.
json row_of(const json& status, const std::string& service) {
  for (const json& row : status.value("services", json::array())) {
    if (row.value("service", "") == service) return row;
  }
  return nullptr;
}

// `row[key]` when it is a number, else -1. A field berth does not know yet is null (a Service
// with no host port yet has `"host_port": null`), and json::value() throws on a null it finds.
int number_in(const json& row, const std::string& key) {
  if (!row.is_object()) return -1;
  const auto field = row.find(key);
  return field != row.end() && field->is_number_integer() ? field->get<int>() : -1;
}

TEST(StatusKubeSim, ShowsEachServicePortWithItsBackendsHealthAndSessionsAcrossAReload) {
  EchoServer up("orders-up", "127.0.0.3");
  ASSERT_TRUE(up.ok());
  // Nothing listens on 127.0.0.4 at this port: the second endpoint fails its checks.
  const int down_port = up.port();
  DataplaneCluster c(DataplaneClusterOptions{.port_ranges = {{31650, 31689}},
                                             .flags = {{"--metrics-bind-address", kStatusAddress}}});
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(
      service_yaml("orders", 3306) + slice_yaml("orders-1", "orders", {"127.0.0.3", "127.0.0.4"}, down_port) +
      service_yaml("locked", 5432, {{"haproxy-ingress/allow-sources", "everyone"}})));
  auto port = c.wait_for_host_port("orders", 3306);
  ASSERT_TRUE(port) << c.berth().log();
  auto locked_port = c.wait_for_host_port("locked", 5432);
  ASSERT_TRUE(locked_port) << c.berth().log();

  // A session held open through HAProxy, as a database client keeps one.
  std::unique_ptr<TcpClient> session;
  ASSERT_TRUE(eventually(
      [&] {
        auto held = session_with("127.0.0.1", *port, "orders-up", 2s);
        if (held) session = std::move(*held);
        return held.has_value();
      },
      kWait))
      << c.berth().log();

  json orders;
  json status;
  std::string last_output;
  auto orders_settled = [&] {
    auto answer = berth_status({"--address", kStatusAddress, "--output", "json"});
    if (!answer || answer->exit_code != 0) {
      last_output = answer ? answer->err : answer.error().describe();
      return false;
    }
    last_output = answer->out;
    status = json::parse(answer->out, nullptr, false);
    orders = row_of(status, "default/orders");
    // berth's cache sees 'locked''s allocation a watch event after the API does (late under ASan);
    // until then its row says `"host_port": null`.
    return number_in(orders, "backends_up") == 1 && number_in(orders, "backends_down") == 1 &&
           number_in(orders, "sessions") == 1 && number_in(row_of(status, "default/locked"), "host_port") == *locked_port;
  };
  ASSERT_TRUE(eventually(orders_settled, kWait)) << last_output << "\n" << c.berth().log();
  EXPECT_EQ(orders["service_port"], 3306);
  EXPECT_EQ(orders["host_port"], *port);
  EXPECT_EQ(orders["state"], "serving");
  EXPECT_EQ(orders["reason"], "");
  ASSERT_EQ(orders["backends"].size(), 2u);
  EXPECT_EQ(orders["backends"][0]["address"], "127.0.0.3:" + std::to_string(down_port));
  EXPECT_EQ(orders["backends"][0]["status"], "UP");
  EXPECT_EQ(orders["backends"][0]["sessions"], 1);
  EXPECT_TRUE(orders["backends"][1]["status"].get<std::string>().starts_with("DOWN")) << orders.dump();
  EXPECT_EQ(status["leader"], true);
  EXPECT_EQ(status["ready"], true);
  EXPECT_EQ(status["dataplane"], true);
  EXPECT_EQ(status["haproxy"]["error"], "");
  EXPECT_GT(status["haproxy"]["worker_pid"].get<int>(), 0);

  // The Service whose allow-list is invalid has a port but is not served, and says why.
  json locked = row_of(status, "default/locked");
  ASSERT_TRUE(locked.is_object()) << status.dump(2);
  EXPECT_EQ(locked["state"], "not served");
  EXPECT_EQ(locked["host_port"], *locked_port);
  EXPECT_NE(locked["reason"].get<std::string>().find("not served"), std::string::npos) << locked.dump();

  // A reload for a new Service: the held session stays with the old worker and still counts.
  const std::size_t reloads = c.reloads();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("later", 6379)));
  ASSERT_TRUE(eventually([&] { return c.reloads() > reloads; }, kWait)) << c.berth().log();
  ASSERT_TRUE(eventually(
      [&] {
        if (!orders_settled()) return false;
        return status["haproxy"]["old_worker_pids"].size() == 1u && row_of(status, "default/later").is_object();
      },
      kWait))
      << last_output;
  EXPECT_TRUE(session->round_trip("still here", 2s)) << "the held session was cut";

  // The table a person reads.
  auto table = berth_status({"--address", kStatusAddress});
  ASSERT_TRUE(table);
  ASSERT_EQ(table->exit_code, 0) << table->err;
  EXPECT_NE(table->out.find("leader  ready  haproxy master "), std::string::npos) << table->out;
  EXPECT_NE(table->out.find("1 old workers"), std::string::npos) << table->out;
  EXPECT_NE(table->out.find("SERVICE"), std::string::npos) << table->out;
  const std::string orders_line =
      "default/orders  3306  " + std::to_string(*port) + "      serving     1            1     1";
  EXPECT_NE(table->out.find(orders_line), std::string::npos) << table->out;
}

TEST(StatusKubeSim, SaysClearlyWhenBerthCannotBeReachedOrTheAddressIsWrong) {
  // Nothing listens on this port (a DataplaneCluster's metrics port of the probes' block).
  auto unreachable = berth_status({"--address", "127.0.0.1:31694", "--timeout", "2s"});
  ASSERT_TRUE(unreachable);
  EXPECT_EQ(unreachable->exit_code, 1);
  EXPECT_NE(unreachable->err.find("cannot reach berth at 127.0.0.1:31694"), std::string::npos) << unreachable->err;

  for (const std::string bad : {"nonsense", "127.0.0.1", "localhost:8080", "0"}) {
    auto usage = berth_status({"--address", bad});
    ASSERT_TRUE(usage);
    EXPECT_EQ(usage->exit_code, 2) << bad;
    EXPECT_NE(usage->err.find("--address"), std::string::npos) << bad << ": " << usage->err;
  }
  auto no_address = berth_status({});
  ASSERT_TRUE(no_address);
  EXPECT_EQ(no_address->exit_code, 2);
  EXPECT_NE(no_address->err.find("--address is required"), std::string::npos) << no_address->err;
}

}  // namespace
}  // namespace berth::testing
