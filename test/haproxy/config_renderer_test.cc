#include "haproxy/config_renderer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "model_fixtures.h"

namespace berth::haproxy {
namespace {

ConfigRenderer default_renderer() {
  return ConfigRenderer::create(std::string(ConfigRenderer::default_template())).value();
}

Listener listener(int host_port, BackendOptions options, std::vector<Server> servers) {
  return Listener{.host_port = host_port,
                  .service = ServiceRef{.ns = "default", .name = "mysqlcluster", .port = 3306},
                  .options = std::move(options),
                  .servers = std::move(servers)};
}

// What follows the defaults section: the listeners' frontend and backend blocks.
std::string listener_blocks(const std::string& text) {
  const auto defaults = text.find("\ndefaults\n");
  if (defaults == std::string::npos) return "<no defaults section in>\n" + text;
  const auto end = text.find("\n\n", defaults + 1);
  return end == std::string::npos ? std::string() : text.substr(end + 2);
}

// The header, global and defaults sections.
std::string head_sections(const std::string& text) {
  const auto defaults = text.find("\ndefaults\n");
  if (defaults == std::string::npos) return text;
  const auto end = text.find("\n\n", defaults + 1);
  return end == std::string::npos ? text : text.substr(0, end + 1);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct ListenerCase {
  const char* name;
  Listener listener;
  std::vector<IpAddress> bind_addresses;
  std::optional<Slots> slots;  // nullopt: no SlotTable entry
  std::string expected;
};

std::vector<ListenerCase> listener_cases() {
  std::vector<ListenerCase> cases;
  cases.push_back({"TcpCheckByDefault", listener(26735, {}, {server("10.0.0.1", 3306)}), {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26735
    bind 0.0.0.0:26735
    timeout client 24h
    default_backend p26735

backend p26735
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    server s1 10.0.0.1:3306 check
)"});
  cases.push_back({"MysqlCheckWithUser",
                   listener(26735, {.check = CheckKind::kMysql, .check_user = "haproxy_check"},
                            {server("10.0.0.1", 3306), server("10.0.0.2", 3306)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26735
    bind 0.0.0.0:26735
    timeout client 24h
    default_backend p26735

backend p26735
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option mysql-check user haproxy_check
    server s1 10.0.0.1:3306 check
    server s2 10.0.0.2:3306 check
)"});
  cases.push_back({"MysqlCheckWithoutUser", listener(26735, {.check = CheckKind::kMysql}, {server("10.0.0.1", 3306)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26735
    bind 0.0.0.0:26735
    timeout client 24h
    default_backend p26735

backend p26735
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option mysql-check
    server s1 10.0.0.1:3306 check
)"});
  cases.push_back({"PgsqlCheck",
                   listener(26736, {.check = CheckKind::kPgsql, .check_user = "monitor"}, {server("10.0.0.1", 5432)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26736
    bind 0.0.0.0:26736
    timeout client 24h
    default_backend p26736

backend p26736
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option pgsql-check user monitor
    server s1 10.0.0.1:5432 check
)"});
  cases.push_back({"PgsqlCheckNeedsAUser", listener(26736, {.check = CheckKind::kPgsql}, {server("10.0.0.1", 5432)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26736
    bind 0.0.0.0:26736
    timeout client 24h
    default_backend p26736

backend p26736
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option pgsql-check user postgres
    server s1 10.0.0.1:5432 check
)"});
  cases.push_back({"RedisCheckIgnoresCheckUser",
                   listener(26737, {.check = CheckKind::kRedis, .check_user = "nobody"}, {server("10.0.0.1", 6379)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26737
    bind 0.0.0.0:26737
    timeout client 24h
    default_backend p26737

backend p26737
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option redis-check
    server s1 10.0.0.1:6379 check
)"});
  cases.push_back({"NoCheck", listener(26738, {.check = CheckKind::kNone}, {server("10.0.0.1", 6379)}), {},
                   std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26738
    bind 0.0.0.0:26738
    timeout client 24h
    default_backend p26738

backend p26738
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    server s1 10.0.0.1:6379
)"});
  cases.push_back({"HttpCheckReplacesTheKind",
                   listener(26739,
                            {.check = CheckKind::kPgsql,
                             .check_user = "postgres",
                             .check_http = HttpCheck{.port = 8008, .path = "/primary"}},
                            {server("10.0.0.1", 5432), server("10.0.0.2", 5432)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26739
    bind 0.0.0.0:26739
    timeout client 24h
    default_backend p26739

backend p26739
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option httpchk GET /primary
    http-check expect status 200
    server s1 10.0.0.1:5432 check port 8008
    server s2 10.0.0.2:5432 check port 8008
)"});
  cases.push_back({"HttpCheckEvenWithKindNone",
                   listener(26739,
                            {.check = CheckKind::kNone, .check_http = HttpCheck{.port = 8008, .path = "/replica"}},
                            {server("10.0.0.1", 5432)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26739
    bind 0.0.0.0:26739
    timeout client 24h
    default_backend p26739

backend p26739
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option httpchk GET /replica
    http-check expect status 200
    server s1 10.0.0.1:5432 check port 8008
)"});
  for (auto [balance, keyword] : {std::pair{Balance::kLeastConn, "leastconn"}, std::pair{Balance::kFirst, "first"},
                                  std::pair{Balance::kSource, "source"}}) {
    cases.push_back({keyword, listener(26740, {.balance = balance}, {server("10.0.0.1", 3306)}), {}, std::nullopt,
                     std::string(R"(# default/mysqlcluster:3306
frontend p26740
    bind 0.0.0.0:26740
    timeout client 24h
    default_backend p26740

backend p26740
    balance )") + keyword + R"(
    timeout connect 5s
    timeout server 24h
    server s1 10.0.0.1:3306 check
)"});
  }
  cases.push_back({"TimeoutsInTheLargestExactUnit",
                   listener(26741,
                            {.timeout_connect = std::chrono::milliseconds(1500),
                             .timeout_client = std::chrono::seconds(90),
                             .timeout_server = std::chrono::minutes(36 * 60 + 1)},
                            {server("10.0.0.1", 3306)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26741
    bind 0.0.0.0:26741
    timeout client 90s
    default_backend p26741

backend p26741
    balance roundrobin
    timeout connect 1500ms
    timeout server 2161m
    server s1 10.0.0.1:3306 check
)"});
  cases.push_back({"MaxconnAndProxyProtocolV1",
                   listener(26742, {.maxconn = 100, .proxy_protocol = ProxyProtocol::kV1}, {server("10.0.0.1", 3306)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26742
    bind 0.0.0.0:26742
    timeout client 24h
    maxconn 100
    default_backend p26742

backend p26742
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    server s1 10.0.0.1:3306 check send-proxy
)"});
  cases.push_back({"ProxyProtocolV2WithoutCheck",
                   listener(26743, {.check = CheckKind::kNone, .proxy_protocol = ProxyProtocol::kV2},
                            {server("10.0.0.1", 3306)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26743
    bind 0.0.0.0:26743
    timeout client 24h
    default_backend p26743

backend p26743
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    server s1 10.0.0.1:3306 send-proxy-v2
)"});
  cases.push_back({"AllowSourcesOfBothFamilies",
                   listener(26744, {.allow_sources = {cidr("10.0.0.0/8"), cidr("192.168.1.7"), cidr("fd00::/8")}},
                            {server("10.0.0.1", 3306)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26744
    bind 0.0.0.0:26744
    timeout client 24h
    acl allowed_sources src 10.0.0.0/8 192.168.1.7/32 fd00::/8
    tcp-request connection reject unless allowed_sources
    default_backend p26744

backend p26744
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    server s1 10.0.0.1:3306 check
)"});
  cases.push_back({"IPv6Servers",
                   listener(26745, {.check = CheckKind::kRedis}, {server("fd00::1", 6379), server("fd00::a:2", 6379)}),
                   {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26745
    bind 0.0.0.0:26745
    timeout client 24h
    default_backend p26745

backend p26745
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option redis-check
    server s1 [fd00::1]:6379 check
    server s2 [fd00::a:2]:6379 check
)"});
  cases.push_back({"UnspecifiedIPv6AloneIsDualStack", listener(26746, {}, {server("10.0.0.1", 3306)}), {ip("::")},
                   std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26746
    bind [::]:26746 v4v6
    timeout client 24h
    default_backend p26746

backend p26746
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    server s1 10.0.0.1:3306 check
)"});
  cases.push_back({"UnspecifiedIPv6BesideIPv4IsV6Only", listener(26746, {}, {server("10.0.0.1", 3306)}),
                   {ip("0.0.0.0"), ip("::")}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26746
    bind 0.0.0.0:26746
    bind [::]:26746 v6only
    timeout client 24h
    default_backend p26746

backend p26746
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    server s1 10.0.0.1:3306 check
)"});
  cases.push_back({"SpecificAddressesOfBothFamilies", listener(26747, {}, {server("10.0.0.1", 3306)}),
                   {ip("192.0.2.10"), ip("2001:db8::10")}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26747
    bind 192.0.2.10:26747
    bind [2001:db8::10]:26747 v6only
    timeout client 24h
    default_backend p26747

backend p26747
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    server s1 10.0.0.1:3306 check
)"});
  cases.push_back({"SpareSlotsCarryTheSameCheckOptions",
                   listener(26748,
                            {.check = CheckKind::kMysql, .check_user = "haproxy_check",
                             .proxy_protocol = ProxyProtocol::kV2},
                            {server("10.0.0.1", 3306), server("10.0.0.3", 3306)}),
                   {}, Slots{server("10.0.0.3", 3306), std::nullopt, server("10.0.0.1", 3306), std::nullopt},
                   R"(# default/mysqlcluster:3306
frontend p26748
    bind 0.0.0.0:26748
    timeout client 24h
    default_backend p26748

backend p26748
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option mysql-check user haproxy_check
    server s1 10.0.0.3:3306 check send-proxy-v2
    server s2 127.0.0.1:1 disabled check send-proxy-v2
    server s3 10.0.0.1:3306 check send-proxy-v2
    server s4 127.0.0.1:1 disabled check send-proxy-v2
)"});
  cases.push_back({"SpareHttpCheckedSlot",
                   listener(26749, {.check_http = HttpCheck{.port = 8008, .path = "/primary"}}, {}), {},
                   Slots{std::nullopt},
                   R"(# default/mysqlcluster:3306
frontend p26749
    bind 0.0.0.0:26749
    timeout client 24h
    default_backend p26749

backend p26749
    balance roundrobin
    timeout connect 5s
    timeout server 24h
    option httpchk GET /primary
    http-check expect status 200
    server s1 127.0.0.1:1 disabled check port 8008
)"});
  cases.push_back({"NoServersNoSlots", listener(26750, {}, {}), {}, std::nullopt,
                   R"(# default/mysqlcluster:3306
frontend p26750
    bind 0.0.0.0:26750
    timeout client 24h
    default_backend p26750

backend p26750
    balance roundrobin
    timeout connect 5s
    timeout server 24h
)"});
  return cases;
}

TEST(ConfigRenderer, RendersEachListenerOption) {
  const auto renderer = default_renderer();
  for (const auto& c : listener_cases()) {
    Config config;
    config.global.bind_addresses = c.bind_addresses;
    config.model.listeners[c.listener.host_port] = c.listener;
    if (c.slots) config.slots.backends[c.listener.host_port] = *c.slots;
    EXPECT_EQ(listener_blocks(renderer.render(config)), c.expected) << "case " << c.name;
  }
}

TEST(ConfigRenderer, SplitsLongAllowListsIntoAclLinesHaproxyCanRead) {
  // HAProxy reads at most 64 words a line: 50 ranges take two ACL lines of one name (ORed).
  BackendOptions options;
  std::string first = "    acl allowed_sources src";
  std::string second = "    acl allowed_sources src";
  for (int i = 0; i < 50; ++i) {
    const auto text = "10." + std::to_string(i) + ".0.0/16";
    options.allow_sources.push_back(cidr(text.c_str()));
    (i < 48 ? first : second) += " " + text;
  }
  Config config;
  config.model.listeners[26735] = listener(26735, options, {});
  const auto lines = lines_of(default_renderer().render(config));
  const auto at = std::find(lines.begin(), lines.end(), first);
  ASSERT_NE(at, lines.end());
  ASSERT_LT(at + 2, lines.end());
  EXPECT_EQ(*(at + 1), second);
  EXPECT_EQ(*(at + 2), "    tcp-request connection reject unless allowed_sources");
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("    acl "); }),
            2);
}

struct GlobalCase {
  const char* name;
  GlobalSettings global;
  std::string expected;
};

std::vector<GlobalCase> global_cases() {
  std::vector<GlobalCase> cases;
  cases.push_back({"Defaults", GlobalSettings{},
                   R"(# haproxy.cfg written by berth from its model; edits are lost at the next render.
global
    noreuseport

defaults
    mode tcp
    option tcpka
    default-server inter 2s fall 2 rise 2
)"});
  cases.push_back({"EverythingSet",
                   GlobalSettings{.maxconn = 5000,
                                  .nbthread = 4,
                                  .admin_socket = "/run/berth/admin.sock",
                                  .server_state_file = "/run/berth/servers.state",
                                  .log = LogTarget{.kind = LogTarget::Kind::kStdout},
                                  .max_old_workers = 3,
                                  .check_interval = std::chrono::milliseconds(300)},
                   R"(# haproxy.cfg written by berth from its model; edits are lost at the next render.
global
    noreuseport
    maxconn 5000
    nbthread 4
    stats socket /run/berth/admin.sock mode 600 level admin
    server-state-file /run/berth/servers.state
    log stdout format raw local0
    mworker-max-reloads 3

defaults
    mode tcp
    log global
    log-format "client=%ci:%cp host_port=%fp service=%[var(sess.berth_service)] backend=%b/%s server=%si:%sp bytes_in=%U bytes_out=%B duration_ms=%Tt connect_ms=%Tc termination=%ts accepted=%t"
    option tcpka
    load-server-state-from-file global
    default-server inter 300ms fall 2 rise 2
)"});
  cases.push_back({"LogToStderr", GlobalSettings{.log = LogTarget{.kind = LogTarget::Kind::kStderr}},
                   R"(# haproxy.cfg written by berth from its model; edits are lost at the next render.
global
    noreuseport
    log stderr format raw local0

defaults
    mode tcp
    log global
    log-format "client=%ci:%cp host_port=%fp service=%[var(sess.berth_service)] backend=%b/%s server=%si:%sp bytes_in=%U bytes_out=%B duration_ms=%Tt connect_ms=%Tc termination=%ts accepted=%t"
    option tcpka
    default-server inter 2s fall 2 rise 2
)"});
  cases.push_back({"LogToSyslogSocket",
                   GlobalSettings{.log = LogTarget{.kind = LogTarget::Kind::kUnixSocket, .path = "/dev/log"},
                                  .check_interval = std::chrono::minutes(1)},
                   R"(# haproxy.cfg written by berth from its model; edits are lost at the next render.
global
    noreuseport
    log /dev/log local0

defaults
    mode tcp
    log global
    log-format "client=%ci:%cp host_port=%fp service=%[var(sess.berth_service)] backend=%b/%s server=%si:%sp bytes_in=%U bytes_out=%B duration_ms=%Tt connect_ms=%Tc termination=%ts accepted=%t"
    option tcpka
    default-server inter 1m fall 2 rise 2
)"});
  cases.push_back({"LogOverUdpV4",
                   GlobalSettings{.server_state_file = "/var/lib/berth/state",
                                  .log = LogTarget{.kind = LogTarget::Kind::kUdp, .address = ip("10.1.2.3")}},
                   R"(# haproxy.cfg written by berth from its model; edits are lost at the next render.
global
    noreuseport
    server-state-file /var/lib/berth/state
    log 10.1.2.3:514 local0

defaults
    mode tcp
    log global
    log-format "client=%ci:%cp host_port=%fp service=%[var(sess.berth_service)] backend=%b/%s server=%si:%sp bytes_in=%U bytes_out=%B duration_ms=%Tt connect_ms=%Tc termination=%ts accepted=%t"
    option tcpka
    load-server-state-from-file global
    default-server inter 2s fall 2 rise 2
)"});
  cases.push_back({"LogOverUdpV6",
                   GlobalSettings{
                       .log = LogTarget{.kind = LogTarget::Kind::kUdp, .address = ip("fd00::5"), .port = 5140}},
                   R"(# haproxy.cfg written by berth from its model; edits are lost at the next render.
global
    noreuseport
    log [fd00::5]:5140 local0

defaults
    mode tcp
    log global
    log-format "client=%ci:%cp host_port=%fp service=%[var(sess.berth_service)] backend=%b/%s server=%si:%sp bytes_in=%U bytes_out=%B duration_ms=%Tt connect_ms=%Tc termination=%ts accepted=%t"
    option tcpka
    default-server inter 2s fall 2 rise 2
)"});
  return cases;
}

TEST(ConfigRenderer, RendersGlobalAndDefaultsSections) {
  const auto renderer = default_renderer();
  for (const auto& c : global_cases()) {
    Config config;
    config.global = c.global;
    const auto text = renderer.render(config);
    EXPECT_EQ(text, c.expected) << "case " << c.name << " (no listeners)";
    config.model.listeners[26735] = listener(26735, {}, {server("10.0.0.1", 3306)});
    EXPECT_EQ(head_sections(renderer.render(config)), c.expected) << "case " << c.name << " (one listener)";
  }
}

TEST(ConfigRenderer, ListenersFollowInHostPortOrderSeparatedByOneBlankLine) {
  Config config;
  for (int port : {30002, 30000, 30001}) config.model.listeners[port] = listener(port, {}, {server("10.0.0.1", 3306)});
  const auto text = default_renderer().render(config);
  const auto p0 = text.find("frontend p30000\n");
  const auto p1 = text.find("frontend p30001\n");
  const auto p2 = text.find("frontend p30002\n");
  ASSERT_NE(p0, std::string::npos);
  ASSERT_NE(p1, std::string::npos);
  ASSERT_NE(p2, std::string::npos);
  EXPECT_LT(p0, p1);
  EXPECT_LT(p1, p2);
  EXPECT_EQ(text.find("\n\n\n"), std::string::npos);
  EXPECT_TRUE(text.ends_with("    server s1 10.0.0.1:3306 check\n"));
  // Every line is a section keyword, an indented setting, a comment or one blank separator.
  for (const auto& line : lines_of(text)) {
    EXPECT_TRUE(line.empty() || line.starts_with("# ") || line.starts_with("global") ||
                line.starts_with("defaults") || line.starts_with("frontend p") || line.starts_with("backend p") ||
                (line.starts_with("    ") && line[4] != ' '))
        << "line \"" << line << "\"";
    EXPECT_FALSE(line.ends_with(' ')) << "line \"" << line << "\"";
  }
}

Config rich_config(bool reversed) {
  Config config;
  config.global = GlobalSettings{.nbthread = 2,
                                 .bind_addresses = {ip("0.0.0.0"), ip("::")},
                                 .admin_socket = "/run/berth/admin.sock",
                                 .server_state_file = "/run/berth/servers.state",
                                 .log = LogTarget{.kind = LogTarget::Kind::kStdout},
                                 .max_old_workers = 2};
  std::vector<int> ports{26735, 26736, 26737, 40000};
  if (reversed) std::reverse(ports.begin(), ports.end());
  for (int port : ports) {
    config.model.listeners[port] =
        listener(port, {.check = CheckKind::kMysql, .allow_sources = {cidr("10.0.0.0/8"), cidr("fd00::/8")}},
                 {server("10.0.0.1", 3306), server("fd00::1", 3306)});
    config.slots.backends[port] = Slots{server("fd00::1", 3306), std::nullopt, server("10.0.0.1", 3306)};
  }
  return config;
}

TEST(ConfigRenderer, EqualConfigsRenderIdenticalBytes) {
  const auto renderer = default_renderer();
  const auto first = renderer.render(rich_config(false));
  EXPECT_EQ(renderer.render(rich_config(false)), first);
  const auto reordered = rich_config(true);
  ASSERT_EQ(reordered, rich_config(false));
  EXPECT_EQ(renderer.render(reordered), first);
  // A second renderer of the same template is no different from the first.
  EXPECT_EQ(default_renderer().render(reordered), first);
  EXPECT_EQ(first.find('\x01'), std::string::npos);
}

// The built-in template is rendered listener by listener (one small data tree at a time); a
// template that names "listeners" once more is rendered as one tree. Both give the same bytes.
TEST(ConfigRenderer, RenderingListenerByListenerGivesTheBytesOfTheWholeTree) {
  const std::string base(ConfigRenderer::default_template());
  const std::string whole_tree = base + "{{^listeners}}\n# no listener\n{{/listeners}}\n";
  auto by_listener = default_renderer();
  auto as_one_tree = ConfigRenderer::create(whole_tree);
  ASSERT_TRUE(as_one_tree) << as_one_tree.error().message;
  const Config config = rich_config(false);
  EXPECT_EQ(as_one_tree->render(config), by_listener.render(config));
  Config empty = config;
  empty.model.listeners.clear();
  empty.slots.backends.clear();
  EXPECT_EQ(as_one_tree->render(empty), by_listener.render(empty) + "# no listener\n");
  // A listener section that reads the global settings (names fall back to the root as in a tree).
  const std::string nested = "{{#listeners}}\n{{name}} {{#global}}{{check_interval}}{{/global}}\n{{/listeners}}\n";
  auto cut = ConfigRenderer::create(nested);
  auto uncut = ConfigRenderer::create(nested + "{{^listeners}}\n{{/listeners}}\n");
  ASSERT_TRUE(cut && uncut);
  EXPECT_EQ(cut->render(config), uncut->render(config));
  EXPECT_NE(cut->render(config).find("p26735 2s\n"), std::string::npos) << cut->render(config);
}

TEST(ConfigRenderer, RendersFromSeveralThreadsAtOnce) {
  const auto renderer = default_renderer();
  const auto config = rich_config(false);
  const auto expected = renderer.render(config);
  std::vector<std::string> results(4);
  {
    std::vector<std::jthread> threads;
    for (auto& result : results) {
      threads.emplace_back([&] {
        for (int i = 0; i < 20; ++i) result = renderer.render(config);
      });
    }
  }
  for (const auto& result : results) EXPECT_EQ(result, expected);
}

// With logging on, each frontend names its Service for the audit log's service= field.
TEST(ConfigRenderer, NamesTheServiceForTheAuditLogWhenLogging) {
  Config config;
  config.model.listeners[26735] = listener(26735, {.allow_sources = {cidr("10.0.0.0/8")}}, {});
  const std::string set_var = "    tcp-request connection set-var(sess.berth_service) str(default/mysqlcluster:3306)\n";
  EXPECT_EQ(default_renderer().render(config).find("set-var"), std::string::npos) << "not without logging";
  config.global.log = LogTarget{.kind = LogTarget::Kind::kStdout};
  const auto text = default_renderer().render(config);
  ASSERT_NE(text.find(set_var), std::string::npos) << text;
  EXPECT_LT(text.find(set_var), text.find("tcp-request connection reject")) << "named before the allow-list refuses";
}

// Names reach the config only in a comment (and the audit log's set-var), and only when they
// are DNS-1123 labels.
TEST(ConfigRenderer, NeverPrintsAServiceNameThatIsNotALabel) {
  for (const LogTarget::Kind logging : {LogTarget::Kind::kNone, LogTarget::Kind::kStdout}) {
    const auto renderer = default_renderer();
    Config anonymous;
    anonymous.global.log.kind = logging;
    anonymous.model.listeners[26735] = listener(26735, {}, {server("10.0.0.1", 3306)});
    anonymous.model.listeners[26735].service = ServiceRef{};
    const auto expected = renderer.render(anonymous);
    ASSERT_EQ(expected.find("# default"), std::string::npos);
    ASSERT_NE(expected.find("\nfrontend p26735\n"), std::string::npos);

    const std::vector<std::string> hostile{"a\nbind 0.0.0.0:22", "x#y", "q\"uote", "sp ace", "{{brace}}",
                                           std::string(300, 'a'), std::string(64, 'b'), "\xc3\xbcn\xc3\xaf",
                                           "", "-lead", "trail-", "Upper", "dot.ted", "tab\there", "new\nline",
                                           std::string("nul\0x", 5)};
    for (const auto& bad : hostile) {
      for (bool as_namespace : {true, false}) {
        Config config = anonymous;
        config.model.listeners[26735].service =
            as_namespace ? ServiceRef{.ns = bad, .name = "mysql", .port = 3306}
                         : ServiceRef{.ns = "default", .name = bad, .port = 3306};
        const auto text = renderer.render(config);
        EXPECT_EQ(text, expected) << "name \"" << bad << "\" as " << (as_namespace ? "namespace" : "name");
        if (!bad.empty()) {
          EXPECT_EQ(text.find(bad), std::string::npos) << "name \"" << bad << "\"";
        }
      }
    }
  }
}

TEST(ConfigRenderer, PrintsTheLongestLabelInTheComment) {
  Config config;
  const std::string longest = "a" + std::string(61, '-') + "z";
  config.model.listeners[26735] = listener(26735, {}, {});
  config.model.listeners[26735].service = ServiceRef{.ns = longest, .name = "0", .port = 1};
  EXPECT_NE(default_renderer().render(config).find("\n# " + longest + "/0:1\nfrontend p26735\n"), std::string::npos);
}

// The Mustache spec's standalone-line rule, which kainjow alone applies only to true sections.
TEST(ConfigRenderer, LinesHoldingOnlyASectionTagOrCommentLeaveNothing) {
  auto renderer = ConfigRenderer::create(
      "head\n"
      "  {{! a comment on its own line }}\n"
      "{{#global}}\n"
      "  {{#has_nbthread}}\n"
      "nbthread {{nbthread}}\n"
      "  {{/has_nbthread}}\n"
      "{{^has_nbthread}}\n"
      "no nbthread\n"
      "{{/has_nbthread}}\n"
      "{{/global}}\n"
      "\n"
      "{{#listeners}}\n"
      "l {{name}}{{#has_maxconn}} maxconn {{maxconn}}{{/has_maxconn}}\n"
      "{{/listeners}}\n"
      "tail\r\n"
      "{{#listeners}}\r\n"
      "crlf {{name}}\r\n"
      "{{/listeners}}");
  ASSERT_TRUE(renderer) << renderer.error().message;
  Config config;
  EXPECT_EQ(renderer->render(config), "head\nno nbthread\n\ntail\r\n");
  config.global.nbthread = 8;
  config.model.listeners[1] = listener(1, {.maxconn = 7}, {});
  config.model.listeners[2] = listener(2, {}, {});
  EXPECT_EQ(renderer->render(config), "head\nnbthread 8\n\nl p1 maxconn 7\nl p2\ntail\r\ncrlf p1\r\ncrlf p2\r\n");
}

TEST(ConfigRenderer, ValuesAreNotHtmlEscaped) {
  auto renderer =
      ConfigRenderer::create("{{global.admin_socket}}\n"
                             "{{#listeners}}{{service}} {{#allow_sources}}{{.}},{{/allow_sources}}\n{{/listeners}}");
  ASSERT_TRUE(renderer) << renderer.error().message;
  Config config;
  config.global.admin_socket = "/run/admin.sock";
  config.model.listeners[5] = listener(5, {.allow_sources = {cidr("fd00::/8")}}, {});
  EXPECT_EQ(renderer->render(config), "/run/admin.sock\ndefault/mysqlcluster:3306 fd00::/8,\n");
}

TEST(ConfigRenderer, RefusesTemplatesThatDoNotCompile) {
  struct Bad {
    std::string text;
    std::string message;  // a part of the error message
  };
  const std::vector<Bad> bad{
      {"global\n{{#listeners}}\nfrontend {{name}}\n", "Unclosed section \"listeners\" at 7 (line 2)"},
      {"global\n  maxconn {{global.maxconn\n", "Unclosed tag at 17 (line 2)"},
      {"a\nb\n{{/listeners}}\n", "Unopened section \"listeners\" at 4 (line 3)"},
      {"{{#a}}{{/b}}", "Unclosed section"},
      {"x\n{{> frontend}}\n", "template line 2: partials are not supported"},
      {"{{=<% %>=}}\n<%global%>\n", "template line 1: delimiter changes are not supported"},
      {"global\n\x01\n", "template line 2: control character 0x01"},
      {std::string("a\0b", 3), "control character 0x00"},
  };
  for (const auto& b : bad) {
    auto created = ConfigRenderer::create(b.text);
    ASSERT_FALSE(created) << "accepted \"" << b.text << "\"";
    EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(created.error().message.find(b.message), std::string::npos)
        << "\"" << created.error().message << "\" lacks \"" << b.message << "\"";
  }
}

TEST(ConfigRenderer, UnknownNamesRenderEmptyAsMustacheSays) {
  auto renderer = ConfigRenderer::create("a{{no_such_name}}b\n{{#no_such_section}}\nx\n{{/no_such_section}}\n");
  ASSERT_TRUE(renderer) << renderer.error().message;
  EXPECT_EQ(renderer->render(Config{}), "ab\n");
}

TEST(ConfigRenderer, MovedFromAndMovedToRenderersKeepWorking) {
  auto a = default_renderer();
  ConfigRenderer b = std::move(a);
  a = default_renderer();
  EXPECT_EQ(a.render(Config{}), b.render(Config{}));
}

// docs/haproxy-template.md shows the built-in template and an example of its output; both
// must be what the code does.
TEST(ConfigRenderer, TheTemplateDocumentationShowsWhatTheCodeDoes) {
  const auto doc_path = std::filesystem::path(__FILE__).parent_path() / "../../docs/haproxy-template.md";
  std::ifstream in(doc_path, std::ios::binary);
  ASSERT_TRUE(in) << doc_path;
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(doc.find("```mustache\n" + std::string(ConfigRenderer::default_template()) + "```\n"), std::string::npos)
      << "the built-in template in " << doc_path << " is not the one in default_template.cc";

  Config config;
  config.global = GlobalSettings{.bind_addresses = {ip("::")},
                                 .admin_socket = "/run/berth/admin.sock",
                                 .server_state_file = "/run/berth/servers.state",
                                 .log = LogTarget{.kind = LogTarget::Kind::kStdout},
                                 .prometheus = MetricsEndpoint{ip("127.0.0.1"), 8405},
                                 .max_old_workers = 10};
  config.model.listeners[26735] = listener(26735,
                                           {.check = CheckKind::kMysql,
                                            .check_user = "haproxy_check",
                                            .allow_sources = {cidr("10.0.0.0/8"), cidr("fd00::/8")}},
                                           {server("10.244.1.7", 3306)});
  config.slots.backends[26735] = Slots{server("10.244.1.7", 3306), std::nullopt};
  config.model.listeners[26736] = Listener{
      .host_port = 26736,
      .service = ServiceRef{.ns = "db", .name = "pg-main", .port = 5432},
      .options = {.check_http = HttpCheck{.port = 8008, .path = "/primary"},
                  .balance = Balance::kFirst,
                  .timeout_connect = std::chrono::milliseconds(1500),
                  .maxconn = 500,
                  .proxy_protocol = ProxyProtocol::kV2},
      .servers = {server("fd00::10", 5432)}};
  EXPECT_NE(doc.find("```\n" + default_renderer().render(config) + "```\n"), std::string::npos)
      << "the example in " << doc_path << " is not what the built-in template renders:\n"
      << default_renderer().render(config);
}

// model.h promises these values are validated; a renderer handed one that is not must not
// write it (a newline would add config lines).
TEST(ConfigRendererDeathTest, RefusesToWriteAValueThatWasNotValidated) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto renderer = default_renderer();
  Config mysql;
  mysql.model.listeners[26735] =
      listener(26735, {.check = CheckKind::kMysql, .check_user = "x\nbind 0.0.0.0:22"}, {server("10.0.0.1", 3306)});
  EXPECT_DEATH(renderer.render(mysql), "check user .* is not a validated value");

  Config http;
  http.model.listeners[26735] =
      listener(26735, {.check_http = HttpCheck{.port = 8008, .path = "/a b"}}, {server("10.0.0.1", 3306)});
  EXPECT_DEATH(renderer.render(http), "HTTP check path .* is not a validated value");

  Config relative;
  relative.global.admin_socket = "admin.sock";
  EXPECT_DEATH(renderer.render(relative), "admin_socket .* is not a validated value");

  Config hash;
  hash.global.log = LogTarget{.kind = LogTarget::Kind::kUnixSocket, .path = "/dev/log#x"};
  EXPECT_DEATH(renderer.render(hash), "log path .* is not a validated value");
}

}  // namespace
}  // namespace berth::haproxy
