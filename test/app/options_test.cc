#include "app/options.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::app {
namespace {

ParsedCommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "berth");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(Options, DefaultsAreUsableWithoutAnyFlag) {
  auto parsed = parse({});
  ASSERT_TRUE(std::holds_alternative<Options>(parsed));
  const auto& o = std::get<Options>(parsed);
  EXPECT_EQ(o.kubeconfig, "");
  EXPECT_DOUBLE_EQ(o.kube_api_qps, 20);
  EXPECT_EQ(o.kube_api_burst, 40);
}

TEST(Options, ReadsKubeconfigAndRateLimit) {
  auto parsed = parse({"--kubeconfig", "/tmp/k", "--kube-api-qps", "7.5", "--kube-api-burst", "3"});
  ASSERT_TRUE(std::holds_alternative<Options>(parsed));
  const auto& o = std::get<Options>(parsed);
  EXPECT_EQ(o.kubeconfig, "/tmp/k");
  EXPECT_DOUBLE_EQ(o.kube_api_qps, 7.5);
  EXPECT_EQ(o.kube_api_burst, 3);
}

TEST(Options, RejectsBadValuesWithAUsageExitCode) {
  for (auto args : std::vector<std::vector<const char*>>{{"--kube-api-burst", "0"},
                                                         {"--kube-api-qps", "fast"},
                                                         {"--log-level", "loud"},
                                                         {"--no-such-flag"}}) {
    auto parsed = parse(args);
    ASSERT_TRUE(std::holds_alternative<ExitNow>(parsed)) << args[0];
    EXPECT_NE(std::get<ExitNow>(parsed).code, 0) << args[0];
  }
}

TEST(Options, HelpExitsSuccessfully) {
  auto parsed = parse({"--help"});
  ASSERT_TRUE(std::holds_alternative<ExitNow>(parsed));
  EXPECT_EQ(std::get<ExitNow>(parsed).code, 0);
}

}  // namespace
}  // namespace berth::app
