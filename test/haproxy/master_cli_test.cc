#include "haproxy/master_cli.h"

#include <gtest/gtest.h>

namespace berth::haproxy {
namespace {

// Answers of HAProxy 2.6.12's master, taken verbatim (their terminating empty line removed, as
// MasterSocket::to_master returns them).
constexpr std::string_view kFresh =
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "21028           master          0 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "21031           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n"
    "# programs\n";

// After a reload while a session was held open: 2.6 lists the draining one under "# old workers".
constexpr std::string_view kDraining =
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "28909           master          1 [failed: 0]   0d00h00m05s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "29184           worker          0               0d00h00m00s     2.6.12-1+deb12u4\n"
    "# old workers\n"
    "28925           worker          1               0d00h00m05s     2.6.12-1+deb12u4\n"
    "# programs\n";

// After a reload HAProxy refused: no worker has 0 reloads.
constexpr std::string_view kFailed =
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
    "7592            master          2 [failed: 1]   0d00h10m55s     2.6.12-1+deb12u4\n"
    "# workers\n"
    "17500           worker          1               0d00h00m26s     2.6.12-1+deb12u4\n"
    "# programs\n";

TEST(ParseShowProc, ReadsAFreshMaster) {
  auto table = parse_show_proc(kFresh);
  ASSERT_TRUE(table) << table.error().describe();
  EXPECT_EQ(table->master, (ProcessEntry{21028, 0, "0d00h00m01s", "2.6.12-1+deb12u4"}));
  EXPECT_EQ(table->failed_reloads, 0);
  ASSERT_EQ(table->workers.size(), 1u);
  EXPECT_EQ(table->workers[0], (ProcessEntry{21031, 0, "0d00h00m01s", "2.6.12-1+deb12u4"}));
  EXPECT_EQ(table->current_worker(), 21031);
  EXPECT_TRUE(table->old_workers().empty());
}

TEST(ParseShowProc, TellsTheNewWorkerFromOldOnes) {
  auto table = parse_show_proc(kDraining);
  ASSERT_TRUE(table) << table.error().describe();
  EXPECT_EQ(table->master.reloads, 1);
  ASSERT_EQ(table->workers.size(), 2u);
  EXPECT_EQ(table->current_worker(), 29184);
  EXPECT_EQ(table->old_workers(), std::vector<int>{28925});
}

TEST(ParseShowProc, AfterAFailedReloadThePreviousWorkerIsStillCurrent) {
  auto table = parse_show_proc(kFailed);
  ASSERT_TRUE(table) << table.error().describe();
  EXPECT_EQ(table->master.pid, 7592);
  EXPECT_EQ(table->master.reloads, 2);
  EXPECT_EQ(table->failed_reloads, 1);
  EXPECT_EQ(table->current_worker(), 17500);
  EXPECT_TRUE(table->old_workers().empty());
}

TEST(ParseShowProc, AcceptsTheAnswerWithItsTerminatorAndIgnoresPrograms) {
  std::string text(kFresh);
  text += "29999           prog-a          0               0d00h00m01s     -\n\n";
  auto table = parse_show_proc(text);
  ASSERT_TRUE(table) << table.error().describe();
  EXPECT_EQ(table->workers.size(), 1u);
}

TEST(ParseShowProc, AMasterWithNoWorkerHasNoCurrentWorker) {
  auto table = parse_show_proc(
      "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"
      "7592            master          0 [failed: 0]   0d00h00m00s     2.6.12-1+deb12u4\n"
      "# workers\n"
      "# programs\n");
  ASSERT_TRUE(table) << table.error().describe();
  EXPECT_FALSE(table->current_worker());
  EXPECT_TRUE(table->old_workers().empty());
}

TEST(ParseShowProc, RejectsWhatIsNotAProcessTable) {
  for (std::string_view bad : {
           std::string_view(""),
           std::string_view("Unknown command, but maybe one of the following ones is a better match:\n"),
           std::string_view("#<PID> <type>\n# workers\n1 worker 0 0d00h00m00s 2.6\n"),         // no master
           std::string_view("#<PID> <type>\nx master 0 [failed: 0] 0d 2.6\n"),                 // pid
           std::string_view("#<PID> <type>\n7 master zero [failed: 0] 0d 2.6\n"),              // reloads
           std::string_view("#<PID> <type>\n7 master 0 [failed: x] 0d 2.6\n"),                 // failed
           std::string_view("#<PID> <type>\n7 master 0 [failed: 0]\n"),                        // uptime
           std::string_view("#<PID> <type>\n7 worker 0 0d 2.6\n"),                             // type
           std::string_view("#<PID> <type>\n7 master 0 0d 2.6\n8 master 0 0d 2.6\n"),          // two masters
           std::string_view("#<PID> <type>\n7 master 0 0d 2.6\n# workers\n8 master 0 0d 2.6\n"),
       }) {
    auto table = parse_show_proc(bad);
    EXPECT_FALSE(table) << "accepted: " << bad;
    if (!table) {
      EXPECT_EQ(table.error().code, ErrorCode::kParse);
    }
  }
}

}  // namespace
}  // namespace berth::haproxy
