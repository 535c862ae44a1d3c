// The berth binary itself: configuration errors and a run against kube-sim.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/child_process.h"
#include "support/kube_sim_cluster.h"
#include "support/temp_dir.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

int count_lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}


TEST(BerthBinary, ABadKubeconfigIsOneClearLineAndExitCode1) {
  TempDir tmp;
  const auto malformed = tmp.path() / "malformed";
  std::ofstream(malformed) << "clusters: [unclosed\n";
  const auto no_context = tmp.path() / "no-context";
  std::ofstream(no_context) << "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters: []\nusers: []\n"
                               "contexts: []\n";
  struct Case {
    std::vector<std::string> args;
    std::string expected;  // part of the single error line
  };
  std::vector<Case> cases = {
      {{"--kubeconfig", (tmp.path() / "missing").string()}, (tmp.path() / "missing").string()},
      {{"--kubeconfig", malformed.string()}, malformed.string()},
      {{"--kubeconfig", no_context.string()}, "gone"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {BERTH_BIN};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto result = run_command(argv, 30s);
    ASSERT_TRUE(result) << result.error().describe();
    EXPECT_EQ(result->exit_code, 1) << result->err;
    EXPECT_EQ(count_lines(result->err), 1) << result->err;
    EXPECT_NE(result->err.find(c.expected), std::string::npos) << result->err;
  }
}

TEST(BerthBinary, SyncsItsCachesFromKubeSimAndStopsCleanlyOnSigterm) {
  KubeSimCluster cluster;
  ASSERT_TRUE(cluster.ready()) << cluster.error();
  for (const char* name : {"mysql", "pg", "redis"}) {
    ASSERT_TRUE(cluster.api().create(kube::kServices, "default", service_manifest(name)));
  }
  // berth logs to stderr; the shell makes that its stdout and then becomes berth (exec), so
  // the PID that the test stops is berth's own.
  auto berth = ChildProcess::spawn({"/bin/sh", "-c",
                                    std::string("exec '") + BERTH_BIN + "' --kubeconfig '" +
                                        cluster.sim().kubeconfig_path().string() + "' --dataplane=none 2>&1"});
  ASSERT_TRUE(berth) << berth.error().describe();
  bool synced = false;
  std::string seen;
  while (!synced) {
    auto line = (*berth)->read_line(30s);
    ASSERT_TRUE(line) << line.error().describe() << "\n" << seen;
    seen += *line + "\n";
    synced = line->find("caches synced services=3 ") != std::string::npos;
    EXPECT_EQ(line->find(cluster.sim().token()), std::string::npos) << "the token must never be logged";
  }
  auto code = (*berth)->stop(10s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace berth::testing
