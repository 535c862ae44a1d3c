// The test harness itself: start-up failures are reported, not hung on; stop is clean.
#include <gtest/gtest.h>

#include "support/kube_sim_process.h"

namespace berth::testing {
namespace {

TEST(KubeSimProcess, ReportsAProcessThatExitsBeforeItIsReady) {
  KubeSimOptions options;
  options.extra_args = {"--no-such-flag"};
  KubeSimProcess sim(options);
  auto started = sim.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kInternal);
  EXPECT_NE(started.error().message.find("exited before it was ready"), std::string::npos);
}

TEST(KubeSimProcess, StartsStopsAndCleansUp) {
  std::filesystem::path dir;
  {
    KubeSimProcess sim;
    ASSERT_TRUE(sim.start());
    dir = sim.dir();
    EXPECT_GT(sim.pid(), 0);
    EXPECT_TRUE(sim.running());
    EXPECT_TRUE(std::filesystem::exists(sim.kubeconfig_path()));
    EXPECT_NE(sim.server_url().find("https://127.0.0.1:"), std::string::npos);
    EXPECT_NE(sim.ca_pem().find("BEGIN CERTIFICATE"), std::string::npos);
    auto health = sim.request("GET", "/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    auto stats = sim.admin("GET", "/admin/stats");
    EXPECT_TRUE(stats) << stats.error().describe();
    auto missing = sim.admin("GET", "/admin/nothing");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().http_status, 404);
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace berth::testing
