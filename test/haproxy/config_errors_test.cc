#include "haproxy/config_errors.h"

#include <gtest/gtest.h>

namespace berth::haproxy {
namespace {

constexpr std::string_view kConfig = R"(global
    noreuseport

defaults
    mode tcp

# default/a:3306
frontend p26735
    bind 0.0.0.0:26735
    bogus-one
    default_backend p26735

backend p26735
    server s1 10.0.0.1:3306 check

frontend p26736
    bind 0.0.0.0:26736
    default_backend p26736

backend p26736
    bogus-two
)";

std::string alert(int line, std::string_view what = "unknown keyword 'bogus' in 'frontend' section") {
  return "[ALERT]    (16822) : config : parsing [/var/lib/berth/haproxy.cfg.candidate:" + std::to_string(line) +
         "] : " + std::string(what) + "\n";
}

TEST(ListenersBlamed, ErrorLinesInListenerSectionsNameThoseListeners) {
  auto one = listeners_blamed(alert(10) + "[ALERT]    (1) : config : Fatal errors found in configuration.\n", kConfig);
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, (std::set<int>{26735}));
  auto two = listeners_blamed(alert(10) + alert(21, "unknown keyword in 'backend' section"), kConfig);
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, (std::set<int>{26735, 26736}));
}

TEST(ListenersBlamed, AnErrorOutsideEveryListenerBlamesTheWholeConfig) {
  EXPECT_FALSE(listeners_blamed(alert(2), kConfig)) << "global";
  EXPECT_FALSE(listeners_blamed(alert(5), kConfig)) << "defaults";
  EXPECT_FALSE(listeners_blamed(alert(10) + alert(2), kConfig)) << "one listener and global";
  EXPECT_FALSE(listeners_blamed("[ALERT] : config : Fatal errors found in configuration.\n", kConfig))
      << "no line number";
  EXPECT_FALSE(listeners_blamed(alert(999), kConfig)) << "beyond the end";
}

TEST(ListenersBlamed, SectionsOfOtherNamesAreNotListeners) {
  constexpr std::string_view custom = "frontend stats\n    bogus\nbackend pX\n    bogus\nlisten p70000\n    bogus\n";
  EXPECT_FALSE(listeners_blamed(alert(2), custom));
  EXPECT_FALSE(listeners_blamed(alert(4), custom));
  EXPECT_FALSE(listeners_blamed(alert(6), custom));
}

}  // namespace
}  // namespace berth::haproxy
