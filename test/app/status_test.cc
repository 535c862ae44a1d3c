// The status document from a published ServingStatus and HAProxy's numbers, and the table
// `berth status` prints from it.
#include <gtest/gtest.h>

#include "app/status_command.h"
#include "app/status_report.h"

namespace berth::app {
namespace {

using nlohmann::json;
using State = dataplane::ServedPort::State;

haproxy::Server endpoint(const char* address, int port) { return {*haproxy::IpAddress::parse(address), port}; }

dataplane::ServingStatus serving() {
  dataplane::ServingStatus s;
  s.ports = {{"db/orders", 3306, 20000, State::kServing, "", {endpoint("10.0.0.7", 3306), endpoint("10.0.0.8", 3306)}},
             {"db/reports", 5432, 20001, State::kPending, "not applied to HAProxy yet", {endpoint("10.0.0.9", 5432)}},
             {"db/waiting", 6379, 0, State::kNotServed, "no host port allocated yet", {}}};
  return s;
}

haproxy::RuntimeStats runtime() {
  haproxy::RuntimeStats r;
  r.processes.master.pid = 10;
  r.processes.workers = {{.pid = 12, .reloads = 0}, {.pid = 11, .reloads = 1}};
  r.listeners[20000] = {.sessions = 5,
                        .servers = {{"10.0.0.7:3306", haproxy::ServerHealth::kUp, "UP", 4},
                                    {"10.0.0.8:3306", haproxy::ServerHealth::kDown, "DOWN", 1}}};
  return r;
}

TEST(StatusDocument, JoinsWhatIsServedWithHaproxysNumbers) {
  const json doc = status_document(serving(), runtime());
  EXPECT_EQ(doc["haproxy"], (json{{"master_pid", 10}, {"worker_pid", 12}, {"old_worker_pids", {11}}, {"error", ""}}));
  ASSERT_EQ(doc["services"].size(), 3u);
  const json& orders = doc["services"][0];
  EXPECT_EQ(orders["host_port"], 20000);
  EXPECT_EQ(orders["state"], "serving");
  EXPECT_EQ(orders["sessions"], 5);
  EXPECT_EQ(orders["backends_up"], 1);
  EXPECT_EQ(orders["backends_down"], 1);
  EXPECT_EQ(orders["backends"][1], (json{{"address", "10.0.0.8:3306"}, {"status", "DOWN"}, {"sessions", 1}}));
  // Not served by HAProxy yet: the wanted endpoints, health unknown.
  const json& reports = doc["services"][1];
  EXPECT_EQ(reports["state"], "pending");
  EXPECT_EQ(reports["backends"], (json{{{"address", "10.0.0.9:5432"}, {"status", "unknown"}, {"sessions", 0}}}));
  EXPECT_TRUE(doc["services"][2]["host_port"].is_null());
}

TEST(StatusDocument, HaproxyThatCannotBeAskedIsNamedAndEveryBackendUnknown) {
  const json doc = status_document(serving(), make_error(ErrorCode::kTransport, "connect: no such file"));
  EXPECT_NE(doc["haproxy"]["error"].get<std::string>().find("no such file"), std::string::npos);
  EXPECT_TRUE(doc["haproxy"]["master_pid"].is_null());
  EXPECT_EQ(doc["services"][0]["backends"][0]["status"], "unknown");
  EXPECT_EQ(doc["services"][0]["backends_up"], 0);
}

TEST(StatusTable, AlignsColumnsAndSaysWhyAPortIsNotServed) {
  json doc = status_document(serving(), runtime());
  doc["version"] = "0.1.0";
  doc["leader"] = false;
  doc["ready"] = true;
  doc["ready_reason"] = "";
  EXPECT_EQ(render_status_table(doc),
            "berth 0.1.0  follower  ready  haproxy master 10, worker 12, 1 old workers\n"
            "SERVICE     PORT  HOST PORT  STATE       BACKENDS UP  DOWN  SESSIONS  REASON\n"
            "db/orders   3306  20000      serving     1            1     5\n"
            "db/reports  5432  20001      pending     0            0     0         not applied to HAProxy yet\n"
            "db/waiting  6379  -          not served  0            0     0         no host port allocated yet\n");
}

TEST(StatusTable, ControlCharactersFromTheClusterNeverReachTheTerminal) {
  const json doc = {{"services", {{{"service", "db/\x1b[2Jevil\nname"}, {"reason", "bell\a"}}}}};
  const std::string text = render_status_table(doc);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\a'), std::string::npos);
  EXPECT_NE(text.find("db/?[2Jevil?name"), std::string::npos) << text;
}

TEST(StatusTable, WithoutADataPlaneOrServices) {
  const json doc = {{"version", "0.1.0"}, {"leader", true}, {"ready", false}, {"ready_reason", "caches not synced"},
                    {"dataplane", false}, {"haproxy", nullptr}, {"services", json::array()}};
  EXPECT_EQ(render_status_table(doc),
            "berth 0.1.0  leader  not ready  no data plane (--dataplane=none)\n"
            "not ready: caches not synced\n"
            "SERVICE  PORT  HOST PORT  STATE  BACKENDS UP  DOWN  SESSIONS  REASON\n"
            "(no marked Service)\n");
}

}  // namespace
}  // namespace berth::app
