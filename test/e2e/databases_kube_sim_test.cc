// berth with the real databases it is for: MariaDB, PostgreSQL and Redis servers on loopback,
// reached through the host ports berth allocated with their own clients (mariadb, psql,
// redis-cli), held sessions over reloads, and HAProxy's database health checks.
//
// Port blocks: host ports 31000-31499 (one block of 100 per test), database servers
// 31500-31599; all below the kernel's ephemeral range, as in dataplane_kube_sim_test.cc.
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "e2e/dataplane_cluster.h"
#include "haproxy/master_socket.h"
#include "haproxy/servers_state.h"
#include "support/database_server.h"
#include "support/eventually.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

// `show servers state` of HAProxy's current worker, through the master CLI.
Result<haproxy::ServersState> servers_state(DataplaneCluster& c) {
  auto table = c.haproxy_status();
  if (!table) return std::unexpected(table.error());
  auto worker = table->current_worker();
  if (!worker) return make_error(ErrorCode::kInternal, "no current worker");
  haproxy::MasterSocket cli(c.master_socket_path(), 5s);
  auto dump = cli.to_worker(*worker, std::vector<std::string>{"show servers state"});
  if (!dump) return std::unexpected(dump.error());
  return haproxy::parse_servers_state(dump->empty() ? std::string() : dump->front());
}

// The operational state HAProxy reports for the server at 127.0.0.1:port (0 down, 2 up), or -1
// when no server has that address.
int operational_state(DataplaneCluster& c, int port) {
  auto state = servers_state(c);
  if (!state) return -1;
  for (const auto& server : state->servers) {
    if (server.address == "127.0.0.1" && server.port == port) return server.operational_state;
  }
  return -1;
}

constexpr int kDown = 0;
constexpr int kUp = 2;

// The statement that makes a server say its own listening port.
std::string own_port_statement(Database kind) {
  switch (kind) {
    case Database::kMariaDb:
      return "SELECT @@port";
    case Database::kPostgres:
      return "SHOW port";
    case Database::kRedis:
      return "CONFIG GET port";
  }
  return "";
}

// The backend port that answered, parsed from own_port_statement()'s output ("port\n6379" for
// Redis), or -1.
int answering_port(Database kind, int host_port) {
  auto out = query(kind, host_port, own_port_statement(kind));
  if (!out) return -1;
  std::string value = *out;
  if (auto nl = value.rfind('\n'); nl != std::string::npos) value = value.substr(nl + 1);
  try {
    return std::stoi(value);
  } catch (...) {
    return -1;
  }
}

TEST(DatabasesKubeSim, EachDatabaseAnswersItsOwnClientThroughItsHostPort) {
  DatabaseServer maria(Database::kMariaDb, 31500);
  DatabaseServer pg(Database::kPostgres, 31501);
  DatabaseServer redis(Database::kRedis, 31502);
  for (auto* db : {&maria, &pg, &redis}) {
    auto started = db->start();
    ASSERT_TRUE(started) << started.error().describe();
  }
  DataplaneCluster c(31000);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("maria", 3306) + slice_yaml("maria-1", "maria", {"127.0.0.1"}, 31500) +
                              service_yaml("pg", 5432) + slice_yaml("pg-1", "pg", {"127.0.0.1"}, 31501) +
                              service_yaml("cache", 6379) + slice_yaml("cache-1", "cache", {"127.0.0.1"}, 31502)));
  auto maria_port = c.wait_for_host_port("maria", 3306);
  auto pg_port = c.wait_for_host_port("pg", 5432);
  auto redis_port = c.wait_for_host_port("cache", 6379);
  ASSERT_TRUE(maria_port && pg_port && redis_port) << c.berth().log();

  // Each answer comes from the real server behind the host port, never from the proxy.
  ASSERT_TRUE(eventually([&] { return database_answers(Database::kMariaDb, *maria_port); }, kWait)) << c.berth().log();
  auto maria_answer = query(Database::kMariaDb, *maria_port, "SELECT CONCAT(6*7, ' ', @@port, ' ', CURRENT_USER())");
  ASSERT_TRUE(maria_answer) << maria_answer.error().describe();
  EXPECT_EQ(*maria_answer, "42 31500 berth@127.0.0.1");

  ASSERT_TRUE(eventually([&] { return database_answers(Database::kPostgres, *pg_port); }, kWait)) << c.berth().log();
  auto pg_answer = query(Database::kPostgres, *pg_port, "SELECT 6*7, current_setting('port'), current_user");
  ASSERT_TRUE(pg_answer) << pg_answer.error().describe();
  EXPECT_EQ(*pg_answer, "42|31501|postgres");

  ASSERT_TRUE(eventually([&] { return database_answers(Database::kRedis, *redis_port); }, kWait)) << c.berth().log();
  auto set = query(Database::kRedis, *redis_port, "SET berth-key through-haproxy");
  ASSERT_TRUE(set) << set.error().describe();
  EXPECT_EQ(*set, "OK");
  // Read back directly from the server: the write went to it.
  auto direct = query(Database::kRedis, 31502, "GET berth-key");
  ASSERT_TRUE(direct) << direct.error().describe();
  EXPECT_EQ(*direct, "through-haproxy");
}

TEST(DatabasesKubeSim, HeldSessionsKeepTheirServerSideIdOverThirtyReloads) {
  DatabaseServer maria(Database::kMariaDb, 31510);
  DatabaseServer pg(Database::kPostgres, 31511);
  for (auto* db : {&maria, &pg}) {
    auto started = db->start();
    ASSERT_TRUE(started) << started.error().describe();
  }
  DataplaneCluster c(31100);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("maria", 3306) + slice_yaml("maria-1", "maria", {"127.0.0.1"}, 31510) +
                              service_yaml("pg", 5432) + slice_yaml("pg-1", "pg", {"127.0.0.1"}, 31511)));
  auto maria_port = c.wait_for_host_port("maria", 3306);
  auto pg_port = c.wait_for_host_port("pg", 5432);
  ASSERT_TRUE(maria_port && pg_port) << c.berth().log();
  ASSERT_TRUE(eventually([&] { return database_answers(Database::kMariaDb, *maria_port) &&
                                      database_answers(Database::kPostgres, *pg_port); },
                         kWait))
      << c.berth().log();

  auto maria_session = HeldSession::open(Database::kMariaDb, *maria_port);
  ASSERT_TRUE(maria_session) << maria_session.error().describe();
  auto pg_session = HeldSession::open(Database::kPostgres, *pg_port);
  ASSERT_TRUE(pg_session) << pg_session.error().describe();
  auto& maria_held = **maria_session;
  auto& pg_held = **pg_session;
  // Session state as well as the id: a variable set now must still be there at the end.
  ASSERT_TRUE(maria_held.query("SET @berth_mark = 'kept'"));
  ASSERT_TRUE(pg_held.query("SET application_name = 'berth-kept'"));
  const auto maria_id = maria_held.query("SELECT CONNECTION_ID()");
  const auto pg_id = pg_held.query("SELECT pg_backend_pid()");
  ASSERT_TRUE(maria_id && pg_id);
  ASSERT_FALSE(maria_id->empty());
  ASSERT_FALSE(pg_id->empty());

  // While the reloads happen, the sessions are queried as fast as the clients answer.
  std::atomic<bool> stop{false};
  std::atomic<int> queries{0};
  std::atomic<int> failures{0};
  std::string first_failure;
  std::jthread during([&] {
    const auto deadline = std::chrono::steady_clock::now() + 3min;
    for (int i = 0; i < 100000 && !stop && std::chrono::steady_clock::now() < deadline; ++i) {
      auto m = maria_held.query("SELECT CONNECTION_ID()");
      auto p = pg_held.query("SELECT pg_backend_pid()");
      if (m && p && *m == *maria_id && *p == *pg_id) {
        ++queries;
        continue;
      }
      if (failures++ == 0) {
        first_failure = (m ? "mariadb id " + *m : m.error().describe()) + " / " +
                        (p ? "postgres pid " + *p : p.error().describe());
      }
    }
  });

  // 30 reloads: other Services added and removed, one at a time, each confirmed.
  const std::size_t reloads_before = c.reloads();
  for (int i = 0; i < 30; ++i) {
    const std::string name = "churn-" + std::to_string(i / 2);
    if (i % 2 == 0) {
      ASSERT_TRUE(c.kubectl_apply(service_yaml(name, 3306)));
    } else {
      auto deleted = c.kubectl({"delete", "service", name});
      ASSERT_TRUE(deleted && deleted->exit_code == 0) << (deleted ? deleted->err : deleted.error().describe());
    }
    ASSERT_TRUE(eventually([&] { return c.reloads() >= reloads_before + i + 1; }, kWait))
        << "reload " << i + 1 << " did not happen\n"
        << c.berth().log();
  }
  stop = true;
  during.join();

  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(queries.load(), 30) << "the sessions were queried while HAProxy reloaded";
  EXPECT_GE(c.reloads() - reloads_before, 30u);
  // After: the same server-side sessions, with their state.
  EXPECT_EQ(maria_held.query("SELECT CONNECTION_ID()").value_or("gone"), *maria_id);
  EXPECT_EQ(maria_held.query("SELECT @berth_mark").value_or("gone"), "kept");
  EXPECT_EQ(pg_held.query("SELECT pg_backend_pid()").value_or("gone"), *pg_id);
  EXPECT_EQ(pg_held.query("SHOW application_name").value_or("gone"), "berth-kept");
}

struct HealthCheckCase {
  Database kind;
  std::string check;
  std::string check_user;  // "" = none
  int first_port;          // host ports
  int server_port;         // the two servers: server_port, server_port + 1
};

// ctest shows the parameter: without this, gtest prints its bytes.
void PrintTo(const HealthCheckCase& c, std::ostream* os) { *os << database_name(c.kind) << " check " << c.check; }

class DatabaseHealthCheck : public ::testing::TestWithParam<HealthCheckCase> {};

TEST_P(DatabaseHealthCheck, AStoppedDatabaseIsMarkedDownARestartedOneUpAndOnlyUpServersGetConnections) {
  const auto& param = GetParam();
  const int port_a = param.server_port;
  const int port_b = param.server_port + 1;
  DatabaseServer a(param.kind, port_a);
  DatabaseServer b(param.kind, port_b);
  for (auto* db : {&a, &b}) {
    auto started = db->start();
    ASSERT_TRUE(started) << started.error().describe();
  }
  DataplaneCluster c(param.first_port);
  ASSERT_TRUE(c.start()) << c.berth().log();
  std::map<std::string, std::string> annotations{{"haproxy-ingress/check", param.check}};
  if (!param.check_user.empty()) annotations["haproxy-ingress/check-user"] = param.check_user;
  // Two replicas of one database, each in its own EndpointSlice (their ports differ).
  ASSERT_TRUE(c.kubectl_apply(service_yaml("db", 3306, annotations) + slice_yaml("db-a", "db", {"127.0.0.1"}, port_a) +
                              slice_yaml("db-b", "db", {"127.0.0.1"}, port_b)));
  auto host_port = c.wait_for_host_port("db", 3306);
  ASSERT_TRUE(host_port) << c.berth().log();
  ASSERT_TRUE(eventually([&] { return operational_state(c, port_a) == kUp && operational_state(c, port_b) == kUp; },
                         kWait))
      << "a=" << operational_state(c, port_a) << " b=" << operational_state(c, port_b) << "\n" << c.berth().log();
  // The check itself must be the database's protocol, not a plain TCP connect.
  auto config = read_whole_file(c.config_path());
  ASSERT_TRUE(config);
  const std::string option = param.check == "mysql" ? "option mysql-check" : "option " + param.check + "-check";
  EXPECT_NE(config->find(option), std::string::npos) << *config;

  ASSERT_TRUE(a.stop());
  EXPECT_TRUE(eventually([&] { return operational_state(c, port_a) == kDown; }, kWait))
      << "state " << operational_state(c, port_a);
  EXPECT_EQ(operational_state(c, port_b), kUp);
  // Every new connection goes to the server that is up.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(answering_port(param.kind, *host_port), port_b) << "connection " << i;

  auto restarted = a.start();
  ASSERT_TRUE(restarted) << restarted.error().describe();
  EXPECT_TRUE(eventually([&] { return operational_state(c, port_a) == kUp; }, kWait))
      << "state " << operational_state(c, port_a);
  // Round robin again over both.
  std::set<int> answered;
  for (int i = 0; i < 8; ++i) answered.insert(answering_port(param.kind, *host_port));
  EXPECT_EQ(answered, (std::set<int>{port_a, port_b}));
}

INSTANTIATE_TEST_SUITE_P(Checks, DatabaseHealthCheck,
                         ::testing::Values(HealthCheckCase{Database::kMariaDb, "mysql", "haproxy_check", 31200, 31520},
                                           HealthCheckCase{Database::kPostgres, "pgsql", "postgres", 31300, 31530},
                                           HealthCheckCase{Database::kRedis, "redis", "", 31400, 31540}),
                         [](const auto& info) { return std::string(database_name(info.param.kind)); });

}  // namespace
}  // namespace berth::testing
