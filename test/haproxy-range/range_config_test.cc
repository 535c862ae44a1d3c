// Range mode's pure parts that the driver runs after every runtime change: the backend lines of
// the config it rewrites each time, the map and ACL files that are left alone when they already
// hold their text, and the free backend a new port takes. No HAProxy runs here;
// range_driver_test.cc drives the real one.
#include "haproxy/range/range_config.h"

#include <sys/stat.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "haproxy/model_fixtures.h"
#include "haproxy/range/range_files.h"
#include "haproxy/range/range_plan.h"
#include "support/temp_dir.h"

namespace berth::haproxy {
namespace {

constexpr int kFirst = 20000;

struct Port {
  int host_port;
  std::string service;
  std::vector<Server> servers;
  BackendOptions options = {};
};

Model ports_model(const std::vector<Port>& ports) {
  Model m;
  for (const auto& p : ports) {
    m.listeners[p.host_port] = Listener{.host_port = p.host_port,
                                        .service = ServiceRef{.ns = "tenant", .name = p.service, .port = 3306},
                                        .options = p.options,
                                        .servers = p.servers};
  }
  return m;
}

class RangeConfigTest : public ::testing::Test {
 protected:
  // What runs after `desired` is planned from `current`, bound to the test's pool.
  RangeState step(const std::optional<RangeState>& current, const Model& desired) const {
    RangeState next = plan_range_update(current, desired, policy_, files_).next;
    next.layout.binds = {{kFirst, kFirst + 99}};
    return next;
  }

  RangePolicy policy_{.chunk = 4, .min_servers = 2};
  RangeFiles files_ = RangeFiles::in("/etc/berth");
};

// Every kind setting the backend lines spell (each check, its user, the HTTP check, balance,
// timeouts, PROXY protocol v1 and v2), routed, draining and free backends, IPv4 and IPv6
// servers, a name services.map cannot hold, a route with fewer slots than its backend.
RangeState every_kind() {
  RangeState state;
  state.layout.binds = {{20000, 20009}};
  auto add = [&](const std::string& name, BackendKind kind, std::size_t servers) {
    state.layout.backends[name] = RangeBackend{std::move(kind), servers};
  };
  auto database = [](CheckKind check, std::string user = "") {
    return BackendKind{.check = check, .check_user = std::move(user), .timeout_connect = 5s, .timeout_client = 24h,
                       .timeout_server = 12h};
  };
  BackendKind redis = database(CheckKind::kRedis);
  redis.balance = Balance::kLeastConn;
  redis.proxy_protocol = ProxyProtocol::kV1;
  BackendKind unchecked = database(CheckKind::kNone);
  unchecked.balance = Balance::kSource;
  const BackendKind patroni{.check = CheckKind::kTcp,
                            .check_http = HttpCheck{.port = 8008, .path = "/primary"},
                            .balance = Balance::kFirst,
                            .timeout_connect = 3s,
                            .timeout_client = 1h,
                            .timeout_server = 2h,
                            .proxy_protocol = ProxyProtocol::kV2};
  const BackendKind tcp{.timeout_connect = 5s, .timeout_client = 24h, .timeout_server = 24h};
  add("k00000001_1", database(CheckKind::kMysql, "haproxy_check"), 2);
  add("k00000001_2", database(CheckKind::kMysql, "haproxy_check"), 2);
  add("k00000002_1", database(CheckKind::kMysql), 2);
  add("k00000003_1", database(CheckKind::kPgsql), 4);
  add("k00000004_1", redis, 2);
  add("k00000005_1", patroni, 2);
  add("k00000006_1", unchecked, 2);
  add("k00000007_1", tcp, 3);
  auto route = [&](int port, const std::string& backend, const std::string& name, Slots slots) {
    state.routes[port] = Route{.backend = backend,
                               .service = ServiceRef{.ns = "tenant", .name = name, .port = 3306},
                               .slots = std::move(slots)};
  };
  route(20000, "k00000001_1", "orders", {server("10.0.0.1", 3306), std::nullopt});
  route(20001, "k00000003_1", "billing",
        {server("10.0.0.2", 5432), server("10.0.0.3", 5432), std::nullopt, std::nullopt});
  route(20002, "k00000004_1", "cache", {std::nullopt, server("fd00::7", 6379)});
  route(20003, "k00000005_1", "patroni", {server("10.0.0.4", 5432), server("10.0.0.5", 5432)});
  route(20004, "k00000006_1", "Bad_Name", {server("10.0.0.6", 3306), std::nullopt});
  route(20005, "k00000007_1", "short", {server("10.0.0.7", 3306)});
  state.draining = {"k00000001_2"};
  return state;
}

// The text the renderer made before it made each kind's lines once per rendering (commit
// 127db40): the lines must not change, or the server-state file and operators' tooling would
// see a different config for the same state.
TEST(RangeConfig, BackendLinesAreExactlyTheseForEveryKind) {
  const std::string text =
      render_range_config(GlobalSettings{.nbthread = 1, .bind_addresses = {ip("127.0.0.1")}}, every_kind(),
                          RangeFiles::in("/etc/berth"));
  const auto first = text.find("\nbackend ");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.substr(first), R"(
backend k00000001_1
    # tenant/orders:3306
    balance roundrobin
    timeout connect 5s
    timeout server 12h
    timeout tunnel 12h
    tcp-request content reject unless { src -f /etc/berth/acl/k00000001_1.acl }
    option mysql-check user haproxy_check
    server s1 10.0.0.1:3306 check
    server s2 127.0.0.1:1 disabled check

backend k00000001_2
    balance roundrobin
    timeout connect 5s
    timeout server 12h
    timeout tunnel 12h
    tcp-request content reject unless { src -f /etc/berth/acl/k00000001_2.acl }
    option mysql-check user haproxy_check
    server s1 127.0.0.1:1 disabled check
    server s2 127.0.0.1:1 disabled check

backend k00000002_1
    balance roundrobin
    timeout connect 5s
    timeout server 12h
    timeout tunnel 12h
    tcp-request content reject unless { src -f /etc/berth/acl/k00000002_1.acl }
    option mysql-check
    server s1 127.0.0.1:1 disabled check
    server s2 127.0.0.1:1 disabled check

backend k00000003_1
    # tenant/billing:3306
    balance roundrobin
    timeout connect 5s
    timeout server 12h
    timeout tunnel 12h
    tcp-request content reject unless { src -f /etc/berth/acl/k00000003_1.acl }
    option pgsql-check user postgres
    server s1 10.0.0.2:5432 check
    server s2 10.0.0.3:5432 check
    server s3 127.0.0.1:1 disabled check
    server s4 127.0.0.1:1 disabled check

backend k00000004_1
    # tenant/cache:3306
    balance leastconn
    timeout connect 5s
    timeout server 12h
    timeout tunnel 12h
    tcp-request content reject unless { src -f /etc/berth/acl/k00000004_1.acl }
    option redis-check
    server s1 127.0.0.1:1 disabled check send-proxy
    server s2 [fd00::7]:6379 check send-proxy

backend k00000005_1
    # tenant/patroni:3306
    balance first
    timeout connect 3s
    timeout server 2h
    timeout tunnel 1h
    tcp-request content reject unless { src -f /etc/berth/acl/k00000005_1.acl }
    option httpchk GET /primary
    http-check expect status 200
    server s1 10.0.0.4:5432 check port 8008 send-proxy-v2
    server s2 10.0.0.5:5432 check port 8008 send-proxy-v2

backend k00000006_1
    # -
    balance source
    timeout connect 5s
    timeout server 12h
    timeout tunnel 12h
    tcp-request content reject unless { src -f /etc/berth/acl/k00000006_1.acl }
    server s1 10.0.0.6:3306
    server s2 127.0.0.1:1 disabled

backend k00000007_1
    # tenant/short:3306
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    timeout tunnel 24h
    tcp-request content reject unless { src -f /etc/berth/acl/k00000007_1.acl }
    server s1 10.0.0.7:3306 check
    server s2 127.0.0.1:1 disabled check
    server s3 127.0.0.1:1 disabled check
)");
}

ino_t inode(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(RangeConfigTest, FilesThatAlreadyHoldTheirTextAreNotWrittenAgain) {
  testing::TempDir dir;
  const RangeFiles files = RangeFiles::in(dir.path());
  const Server a = server("10.0.0.1", 3306);
  const RangeState first = step(std::nullopt, ports_model({{kFirst, "orders", {a}}}));
  ASSERT_TRUE(write_range_files(files, first, {}, true));
  const std::string backend = first.routes.at(kFirst).backend;
  const ino_t ports = inode(files.ports_map), maxconn = inode(files.maxconn_map), acl = inode(files.acl_file(backend));
  ASSERT_NE(ports, 0u);

  ASSERT_TRUE(write_range_files(files, first, {backend}, false));
  EXPECT_EQ(inode(files.ports_map), ports);
  EXPECT_EQ(inode(files.acl_file(backend)), acl);

  // A new port: ports.map and services.map change, maxconn.map and the ACL files do not.
  const RangeState second = step(first, ports_model({{kFirst, "orders", {a}}, {kFirst + 1, "billing", {a}}}));
  ASSERT_TRUE(write_range_files(files, second, {second.routes.at(kFirst + 1).backend}, false));
  EXPECT_NE(inode(files.ports_map), ports);
  EXPECT_EQ(inode(files.maxconn_map), maxconn);
  EXPECT_EQ(read_whole_file(files.ports_map).value_or(""), ports_map_text(second));
  EXPECT_EQ(read_whole_file(files.services_map).value_or(""), services_map_text(second));

  // A file changed behind berth's back is written again.
  ASSERT_TRUE(write_file_atomically(files.maxconn_map, "20000 5\n", 0600));
  ASSERT_TRUE(write_range_files(files, second, {}, false));
  EXPECT_EQ(read_whole_file(files.maxconn_map).value_or("?"), maxconn_map_text(second));
}

TEST_F(RangeConfigTest, ANewPortTakesTheFirstFreeBackendOfItsKindNeverARoutedOrDrainingOne) {
  const Server a = server("10.0.0.1", 3306);
  const RangeState first = step(std::nullopt, ports_model({{kFirst, "orders", {a}}}));
  ASSERT_EQ(first.layout.backends.size(), 4u);
  const std::string routed = first.routes.at(kFirst).backend;
  // The port goes: its backend drains. The next port must take neither.
  const RangeState drained = step(first, ports_model({}));
  ASSERT_TRUE(drained.draining.contains(routed));
  const RangePlan plan = plan_range_update(drained, ports_model({{kFirst + 1, "billing", {a}}}), policy_, files_);
  ASSERT_FALSE(plan.needs_reload());
  const std::string taken = plan.next.routes.at(kFirst + 1).backend;
  EXPECT_NE(taken, routed);
  std::set<std::string> free = drained.free_backends();
  ASSERT_FALSE(free.empty());
  EXPECT_EQ(taken, *free.begin());  // all of one size: the lowest name

  // Another kind has no backends yet: a reload grows it.
  BackendOptions unchecked;
  unchecked.check = CheckKind::kNone;
  const RangePlan other = plan_range_update(drained, ports_model({{kFirst + 1, "cache", {a}, unchecked}}), policy_, files_);
  EXPECT_TRUE(other.needs_reload());
  EXPECT_EQ(other.next.layout.backends.size(), 8u);
}

}  // namespace
}  // namespace berth::haproxy
