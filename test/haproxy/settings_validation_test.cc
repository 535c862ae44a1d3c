#include "haproxy/settings_validation.h"

#include <gtest/gtest.h>

namespace berth::haproxy {
namespace {

TEST(ConfigPath, OnlyAbsoluteSafePathsPass) {
  EXPECT_EQ(config_path_error("/run/berth/master.sock"), "");
  EXPECT_EQ(config_path_error("/var/lib/berth-1/haproxy_x.cfg"), "");
  EXPECT_NE(config_path_error("run/berth"), "");
  EXPECT_NE(config_path_error(""), "");
  EXPECT_NE(config_path_error("/run/ber th"), "");
  EXPECT_NE(config_path_error("/run/berth\nglobal"), "");
  EXPECT_NE(config_path_error("/run/\"x\""), "");
  EXPECT_NE(config_path_error("/run/#x"), "");
  EXPECT_NE(config_path_error("/run/../etc"), "");
  EXPECT_NE(config_path_error("/run/./x"), "");
  EXPECT_NE(config_path_error("/" + std::string(300, 'a')), "");
  EXPECT_NE(config_path_error("/" + std::string(120, 'a'), kMaxSocketPath), "");
}

TEST(LogTargetFlag, ParsesEachKind) {
  EXPECT_EQ(parse_log_target("none")->kind, LogTarget::Kind::kNone);
  EXPECT_EQ(parse_log_target("stdout")->kind, LogTarget::Kind::kStdout);
  EXPECT_EQ(parse_log_target("stderr")->kind, LogTarget::Kind::kStderr);
  auto socket = parse_log_target("/dev/log");
  ASSERT_TRUE(socket);
  EXPECT_EQ(socket->kind, LogTarget::Kind::kUnixSocket);
  EXPECT_EQ(socket->path, "/dev/log");
  auto udp = parse_log_target("127.0.0.1:5514");
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->kind, LogTarget::Kind::kUdp);
  EXPECT_EQ(udp->address->text(), "127.0.0.1");
  EXPECT_EQ(udp->port, 5514);
  auto udp6 = parse_log_target("[::1]:514");
  ASSERT_TRUE(udp6);
  EXPECT_EQ(udp6->address->text(), "::1");
}

TEST(LogTargetFlag, RejectsWhatCouldBreakTheConfig) {
  for (const char* bad : {"", "syslog", "stdout ", "/dev/log local0", "/dev/log\nlisten x", "10.0.0.1", "10.0.0.1:",
                          "10.0.0.1:0", "10.0.0.1:70000", "10.0.0.1:05", "::1:514", "[::1]", "host:514",
                          "relative/path"}) {
    auto parsed = parse_log_target(bad);
    EXPECT_FALSE(parsed) << "accepted \"" << bad << "\"";
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace berth::haproxy
