// The steps both drivers share (apply_steps.h) that decide something: which ports a config on
// disk binds (a port counted as another process's would move its Service), and where a config
// that should render alike first differs (what the log says when an adoption reloads).
#include "haproxy/apply_steps.h"

#include <gtest/gtest.h>

namespace berth::haproxy {
namespace {

TEST(BoundPortsOfConfig, ReadsEachModesBindLinesAndNothingElse) {
  const std::string per_port =
      "frontend p20000\n    bind 127.0.0.1:20000\n    bind [::1]:20000\n    default_backend p20000\n"
      "frontend p20007\n    bind 0.0.0.0:20007 accept-proxy\n";
  EXPECT_EQ(bound_ports_of_config(per_port), (std::set<int>{20000, 20007}));
  const std::string range =
      "frontend berth_metrics\n    bind 127.0.0.1:9912\n\n# the pool\nfrontend berth_range\n"
      "    bind 127.0.0.1:20000-20003\n    bind 127.0.0.1:20005-20005\nbackend k1_1\n    bind 127.0.0.1:1\n";
  EXPECT_EQ(bound_ports_of_config(range), (std::set<int>{1, 9912, 20000, 20001, 20002, 20003, 20005}));
  // One frontend's: range mode's layout is its frontend's binds, not the metrics exporter's.
  EXPECT_EQ(bound_ports_of_config(range, "berth_range"), (std::set<int>{20000, 20001, 20002, 20003, 20005}));
  // Not a bind line, or no port that can be: nothing.
  EXPECT_TRUE(bound_ports_of_config("    # bind 0.0.0.0:1\n    server s1 10.0.0.1:3306\n    bind /run/x.sock\n"
                                    "    bind 0.0.0.0:0\n    bind 0.0.0.0:70000\n    bind 0.0.0.0:20009-20001\n"
                                    "    bind 0.0.0.0:2x\n")
                  .empty());
}

TEST(FirstDifference, NamesTheFirstLineThatDiffersAndNothingForEqualTexts) {
  EXPECT_EQ(first_difference("a\nb\nc\n", "a\nb\nc\n"), "");
  EXPECT_EQ(first_difference("a\nb\nc\n", "a\nB\nc\n"), "line 2: \"b\" against \"B\"");
  EXPECT_EQ(first_difference("a\n", "a\nextra\n"), "line 2: \"\" against \"extra\"");
  EXPECT_EQ(first_difference(std::string(200, 'x'), std::string(200, 'y'), 3), "line 1: \"xxx\" against \"yyy\"");
}

}  // namespace
}  // namespace berth::haproxy
