// The renderer's output as HAProxy itself judges it: configs rendered from the built-in
// template go through the real `haproxy -c`, so a golden snippet that HAProxy would refuse
// cannot pass unnoticed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "haproxy/config_renderer.h"
#include "support/child_process.h"
#include "support/temp_dir.h"
#include "model_fixtures.h"

namespace berth::haproxy {
namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

struct Verdict {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// `haproxy -c -f <file>` on `text` written into `dir`.
Verdict haproxy_check(const testing::TempDir& dir, const std::string& text) {
  const auto file = dir.write("haproxy.cfg", text);
  auto result = testing::run_command({kHaproxy, "-c", "-f", file.string()}, std::chrono::seconds(60));
  if (!result) return Verdict{-1, "could not run haproxy: " + result.error().describe()};
  return Verdict{result->exit_code, result->out + result->err};
}

void expect_accepted(const testing::TempDir& dir, const std::string& text, const std::string& what) {
  const auto verdict = haproxy_check(dir, text);
  EXPECT_EQ(verdict.exit_code, 0) << what << ":\n" << verdict.output << "\nconfig:\n" << text;
  EXPECT_EQ(verdict.output.find("[ALERT]"), std::string::npos) << what << ":\n" << verdict.output;
  // Not even a warning: each one HAProxy prints is something the template got wrong.
  EXPECT_EQ(verdict.output.find("[WARNING]"), std::string::npos) << what << ":\n" << verdict.output;
}

// Global settings whose files live in `dir`, with a server-state file HAProxy can read.
GlobalSettings settings_in(const testing::TempDir& dir) {
  dir.write("servers.state", "1\n");
  return GlobalSettings{.maxconn = 4000,
                        .nbthread = 2,
                        .admin_socket = (dir.path() / "admin.sock").string(),
                        .server_state_file = (dir.path() / "servers.state").string(),
                        .log = LogTarget{.kind = LogTarget::Kind::kStdout},
                        .max_old_workers = 5,
                        .check_interval = std::chrono::milliseconds(300)};
}

Listener listener(int port, BackendOptions options, std::vector<Server> servers) {
  return Listener{.host_port = port,
                  .service = ServiceRef{.ns = "tenant-a", .name = "db", .port = 3306},
                  .options = std::move(options),
                  .servers = std::move(servers)};
}

// One listener per option worth checking, several of them combined.
Config every_option(const testing::TempDir& dir) {
  Config config;
  config.global = settings_in(dir);
  config.global.bind_addresses = {ip("0.0.0.0"), ip("::")};
  std::vector<Cidr> many_sources;
  for (int i = 0; i < 100; ++i) many_sources.push_back(cidr("10." + std::to_string(i) + ".0.0/16"));
  many_sources.push_back(cidr("fd00::/8"));
  const std::vector<BackendOptions> options{
      {},
      {.check = CheckKind::kMysql, .check_user = "haproxy_check", .balance = Balance::kLeastConn, .maxconn = 50},
      {.check = CheckKind::kMysql, .proxy_protocol = ProxyProtocol::kV2},
      {.check = CheckKind::kPgsql, .check_user = "postgres", .balance = Balance::kFirst,
       .timeout_connect = std::chrono::milliseconds(1500)},
      {.check = CheckKind::kRedis, .balance = Balance::kSource, .proxy_protocol = ProxyProtocol::kV1},
      {.check = CheckKind::kNone,
       .timeout_client = std::chrono::seconds(90),
       .timeout_server = std::chrono::minutes(7)},
      {.check_http = HttpCheck{.port = 8008, .path = "/primary"}, .proxy_protocol = ProxyProtocol::kV2,
       .allow_sources = {cidr("10.0.0.0/8"), cidr("192.168.0.7"), cidr("fd00::/8")}},
      {.check = CheckKind::kPgsql, .allow_sources = many_sources},
  };
  int port = 26000;
  for (const auto& o : options) {
    config.model.listeners[port] = listener(port, o, {server("10.0.0.1", 3306), server("fd00::1", 3306)});
    config.slots.backends[port] = Slots{server("fd00::1", 3306), std::nullopt, server("10.0.0.1", 3306), std::nullopt};
    ++port;
  }
  // No SlotTable entry, and no servers at all.
  config.model.listeners[port] = listener(port, {}, {server("fd00::2", 6379)});
  config.model.listeners[port + 1] = listener(port + 1, {}, {});
  return config;
}

TEST(RenderedConfigCheck, HaproxyAcceptsEveryOption) {
  testing::TempDir dir;
  const auto renderer = ConfigRenderer::create(std::string(ConfigRenderer::default_template())).value();
  expect_accepted(dir, renderer.render(every_option(dir)), "every option");
}

TEST(RenderedConfigCheck, HaproxyAcceptsEveryBindLayout) {
  testing::TempDir dir;
  const auto renderer = ConfigRenderer::create(std::string(ConfigRenderer::default_template())).value();
  const std::vector<std::vector<IpAddress>> layouts{
      {}, {ip("::")}, {ip("0.0.0.0"), ip("::")}, {ip("127.0.0.1"), ip("::1")}, {ip("192.0.2.1"), ip("2001:db8::1")}};
  for (const auto& layout : layouts) {
    Config config;
    config.global = settings_in(dir);
    config.global.bind_addresses = layout;
    config.model.listeners[26735] = listener(26735, {}, {server("10.0.0.1", 3306)});
    expect_accepted(dir, renderer.render(config), "binds of " + std::to_string(layout.size()) + " addresses");
  }
}

TEST(RenderedConfigCheck, HaproxyAcceptsEveryLogTarget) {
  testing::TempDir dir;
  const auto renderer = ConfigRenderer::create(std::string(ConfigRenderer::default_template())).value();
  const std::vector<LogTarget> targets{
      {.kind = LogTarget::Kind::kNone},
      {.kind = LogTarget::Kind::kStdout},
      {.kind = LogTarget::Kind::kStderr},
      {.kind = LogTarget::Kind::kUnixSocket, .path = (dir.path() / "log.sock").string()},
      {.kind = LogTarget::Kind::kUdp, .address = ip("127.0.0.1")},
      {.kind = LogTarget::Kind::kUdp, .address = ip("::1"), .port = 5140},
  };
  for (const auto& target : targets) {
    // HAProxy's own metrics frontend beside each: its defaults section must not inherit the
    // audit log's TCP format (HAProxy would warn).
    for (bool prometheus : {false, true}) {
      Config config;
      config.global = settings_in(dir);
      config.global.log = target;
      if (prometheus) config.global.prometheus = MetricsEndpoint{ip("127.0.0.1"), 8405};
      config.model.listeners[26735] = listener(26735, {}, {server("10.0.0.1", 3306)});
      expect_accepted(dir, renderer.render(config),
                      "log kind " + std::to_string(static_cast<int>(target.kind)) + (prometheus ? " with metrics" : ""));
    }
  }
}

TEST(RenderedConfigCheck, HaproxyAcceptsZeroOneAndTwoHundredListeners) {
  testing::TempDir dir;
  const auto renderer = ConfigRenderer::create(std::string(ConfigRenderer::default_template())).value();
  for (int count : {0, 1, 200}) {
    Config config;
    config.global = settings_in(dir);
    for (int i = 0; i < count; ++i) {
      const int port = 30000 + i;
      config.model.listeners[port] =
          listener(port, {.check = i % 2 == 0 ? CheckKind::kMysql : CheckKind::kRedis}, {server("10.0.1.1", 3306)});
      config.slots.backends[port] = Slots{server("10.0.1.1", 3306), std::nullopt};
    }
    expect_accepted(dir, renderer.render(config), std::to_string(count) + " listeners");
  }
}

// A config with no proxy starts in master-worker mode (the master CLI listens), but `haproxy -c`
// exits 2 ("will not start (no listener)") unless something listens: the admin socket does.
TEST(RenderedConfigCheck, WithNoListenerOnlyTheAdminSocketSatisfiesTheCheck) {
  testing::TempDir dir;
  const auto renderer = ConfigRenderer::create(std::string(ConfigRenderer::default_template())).value();
  const auto verdict = haproxy_check(dir, renderer.render(Config{}));
  EXPECT_EQ(verdict.exit_code, 2) << verdict.output;
  EXPECT_NE(verdict.output.find("no listener"), std::string::npos) << verdict.output;
}

// Proves the check above can fail: HAProxy refuses what a broken template renders.
TEST(RenderedConfigCheck, HaproxyRefusesABrokenTemplate) {
  testing::TempDir dir;
  std::string broken(ConfigRenderer::default_template());
  const auto defaults = broken.find("\ndefaults\n    mode tcp\n");  // the proxies' defaults, always rendered
  ASSERT_NE(defaults, std::string::npos);
  broken.insert(defaults + 10, "    bogus-keyword\n");
  const auto renderer = ConfigRenderer::create(broken).value();
  Config config;
  config.global = settings_in(dir);
  config.model.listeners[26735] = listener(26735, {}, {server("10.0.0.1", 3306)});
  const auto text = renderer.render(config);
  ASSERT_NE(text.find("\n    bogus-keyword\n"), std::string::npos) << text;
  const auto verdict = haproxy_check(dir, text);
  EXPECT_NE(verdict.exit_code, 0) << verdict.output;
  EXPECT_NE(verdict.output.find("[ALERT]"), std::string::npos) << verdict.output;
  EXPECT_NE(verdict.output.find("bogus-keyword"), std::string::npos) << verdict.output;
}

}  // namespace
}  // namespace berth::haproxy
