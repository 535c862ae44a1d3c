// The /metrics, /healthz and /readyz endpoints over real loopback HTTP, and bind addresses.
#include "metrics/probe_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>

namespace berth::metrics {
namespace {

TEST(ProbeServer, ServesMetricsHealthAndReadiness) {
  Registry registry;
  registry.gauge("berth_leader", "1 while leading.").with({}).set(1);
  std::atomic<bool> ready{false};
  ProbeServer server(&registry, [&] { return Readiness{ready.load(), "caches not synced"}; });
  auto port = server.start({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(port) << port.error().describe();
  httplib::Client client("127.0.0.1", *port);

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics->body, registry.render());

  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  auto not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->body, "caches not synced\n");
  ready = true;
  auto now_ready = client.Get("/readyz");
  ASSERT_TRUE(now_ready);
  EXPECT_EQ(now_ready->status, 200);

  auto other = client.Get("/debug");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  auto post = client.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_NE(post->status, 200);
}

TEST(ProbeServer, WithoutARegistryThereIsNoMetricsPathAndWithoutReadinessNoProbes) {
  Registry registry;
  ProbeServer metrics_only(&registry, {});
  auto port = metrics_only.start({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(port);
  httplib::Client client("127.0.0.1", *port);
  EXPECT_EQ(client.Get("/healthz")->status, 404);
  EXPECT_EQ(client.Get("/metrics")->status, 200);
  EXPECT_EQ(client.Get("/status")->status, 404);
}

TEST(ProbeServer, ServesTheStatusDocumentWhenGivenOne) {
  Registry registry;
  int calls = 0;
  ProbeServer server(&registry, {}, [&] { return R"({"calls":)" + std::to_string(++calls) + "}"; });
  auto port = server.start({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(port);
  httplib::Client client("127.0.0.1", *port);
  auto first = client.Get("/status");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(first->body, R"({"calls":1})");
  EXPECT_EQ(client.Get("/status")->body, R"({"calls":2})") << "made anew for each request";
}

TEST(ProbeServer, APortHeldByAnotherListenerIsAClearError) {
  ProbeServer first(nullptr, [] { return Readiness{true, ""}; });
  auto port = first.start({.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(port);
  ProbeServer second(nullptr, [] { return Readiness{true, ""}; });
  auto again = second.start({.host = "127.0.0.1", .port = *port});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kIo);
  EXPECT_NE(again.error().message.find("127.0.0.1:" + std::to_string(*port)), std::string::npos)
      << again.error().message;
}

TEST(BindAddress, ParsesTheFormsControllerRuntimeTakes) {
  auto disabled = parse_bind_address("0");
  ASSERT_TRUE(disabled);
  EXPECT_FALSE(disabled->has_value());
  auto any = parse_bind_address(":8080");
  ASSERT_TRUE(any && *any);
  EXPECT_EQ((*any)->host, "0.0.0.0");
  EXPECT_EQ((*any)->port, 8080);
  auto v4 = parse_bind_address("127.0.0.1:9100");
  ASSERT_TRUE(v4 && *v4);
  EXPECT_EQ((*v4)->to_string(), "127.0.0.1:9100");
  auto v6 = parse_bind_address("[::1]:8081");
  ASSERT_TRUE(v6 && *v6);
  EXPECT_EQ((*v6)->host, "::1");
  EXPECT_EQ((*v6)->to_string(), "[::1]:8081");
  for (const char* bad : {"", "8080", "localhost:8080", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80x", "::1:8080", "[::1:8080", "300.1.1.1:80", "1.2.3.4:8080\nx"}) {
    auto parsed = parse_bind_address(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace berth::metrics
