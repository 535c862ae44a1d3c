#include "kube/token_source.h"

#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "support/fake_clock.h"

namespace berth::kube {
namespace {

using berth::testing::FakeClock;
using berth::testing::TempDir;
namespace fs = std::filesystem;

TEST(TokenSourceTest, FixedTokenNeverChanges) {
  TokenSource fixed("abc");
  EXPECT_EQ(fixed.token().value(), "abc");
  EXPECT_TRUE(fixed.refresh());
  EXPECT_EQ(fixed.token().value(), "abc");
  TokenSource anonymous("");
  EXPECT_EQ(anonymous.token().value(), "");
}

TEST(TokenSourceTest, ReadsFileOnceWhileUnchangedAndTrimsNewline) {
  TempDir dir;
  auto file = dir.write("token", "first\n");
  FakeClock clock;
  TokenSource tokens(file, clock, std::chrono::seconds(60));
  EXPECT_EQ(tokens.token().value(), "first");
  EXPECT_EQ(tokens.token().value(), "first");
  EXPECT_EQ(tokens.reads(), 1);
}

TEST(TokenSourceTest, NoticesRotationBySize) {
  TempDir dir;
  auto file = dir.write("token", "first");
  FakeClock clock;
  TokenSource tokens(file, clock, std::chrono::hours(1));
  EXPECT_EQ(tokens.token().value(), "first");
  dir.write("token", "second-longer");
  EXPECT_EQ(tokens.token().value(), "second-longer");
  EXPECT_EQ(tokens.reads(), 2);
}

TEST(TokenSourceTest, SameSizeSameMtimeIsCaughtByPeriodicRereadOrRefresh) {
  TempDir dir;
  auto file = dir.write("token", "aaaa");
  auto mtime = fs::last_write_time(file);
  FakeClock clock;
  TokenSource tokens(file, clock, std::chrono::seconds(60));
  EXPECT_EQ(tokens.token().value(), "aaaa");
  dir.write("token", "bbbb");
  fs::last_write_time(file, mtime);  // a rewrite that stat cannot see
  EXPECT_EQ(tokens.token().value(), "aaaa");
  clock.advance(std::chrono::seconds(60));
  EXPECT_EQ(tokens.token().value(), "bbbb");

  dir.write("token", "cccc");
  fs::last_write_time(file, mtime);
  EXPECT_EQ(tokens.token().value(), "bbbb");
  ASSERT_TRUE(tokens.refresh());
  EXPECT_EQ(tokens.token().value(), "cccc");
}

TEST(TokenSourceTest, MissingFileFailsUntilReadThenKeepsLastGoodToken) {
  TempDir dir;
  FakeClock clock;
  TokenSource tokens(dir.path() / "token", clock, std::chrono::seconds(1));
  auto missing = tokens.token();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);

  dir.write("token", "good");
  EXPECT_EQ(tokens.token().value(), "good");
  fs::remove(dir.path() / "token");
  clock.advance(std::chrono::seconds(5));
  EXPECT_EQ(tokens.token().value(), "good");
  EXPECT_FALSE(tokens.refresh());
  EXPECT_EQ(tokens.token().value(), "good");
}

TEST(TokenSourceTest, FromConfigPrefersTheTokenFile) {
  TempDir dir;
  FakeClock clock;
  KubeConfig config;
  config.token = "inline";
  EXPECT_EQ(TokenSource::from_config(config, clock)->token().value(), "inline");
  config.token_file = dir.write("token", "from-file").string();
  EXPECT_EQ(TokenSource::from_config(config, clock)->token().value(), "from-file");
}

}  // namespace
}  // namespace berth::kube
