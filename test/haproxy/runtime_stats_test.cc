// `show stat` as HAProxy 2.6 printed it for berth's layout (a frontend, a checked server that
// is down, a free slot in maintenance, an unchecked server), and the sums over workers.
#include "haproxy/runtime_stats.h"

#include "haproxy/map_entries.h"

#include <gtest/gtest.h>

namespace berth::haproxy {
namespace {

// Trimmed to the columns up to "addr" plus one after, in HAProxy's order; the parser finds
// columns by name, so the real 100+ columns read the same.
constexpr std::string_view kShowStat =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,check_status,addr,mode,\n"
    "p20001,FRONTEND,,,3,5,9985,40,OPEN,,,tcp,\n"
    "p20001,s1,0,0,2,2,,20,UP,L4OK,10.0.0.7:3306,tcp,\n"
    "p20001,s2,0,0,0,0,,0,DOWN 1/2,L4CON,10.0.0.8:3306,tcp,\n"
    "p20001,s3,0,0,0,0,,0,MAINT,,127.0.0.1:1,tcp,\n"
    "p20002,FRONTEND,,,0,0,9985,0,OPEN,,,tcp,\n"
    "p20002,s1,0,0,0,0,,0,no check,,[fd00::5]:6379,tcp,\n"
    "stats,FRONTEND,,,1,1,10,1,OPEN,,,http,\n"
    "\n";

TEST(RuntimeStats, ParsesRowsByColumnName) {
  auto rows = parse_show_stat(kShowStat);
  ASSERT_TRUE(rows) << rows.error().describe();
  ASSERT_EQ(rows->size(), 7u);
  EXPECT_EQ((*rows)[0], (StatRow{"p20001", "FRONTEND", 3, "OPEN", ""}));
  EXPECT_EQ((*rows)[2], (StatRow{"p20001", "s2", 0, "DOWN 1/2", "10.0.0.8:3306"}));
  EXPECT_EQ((*rows)[5], (StatRow{"p20002", "s1", 0, "no check", "[fd00::5]:6379"}));
}

TEST(RuntimeStats, RefusesAnswersThatAreNotShowStat) {
  for (std::string_view bad : {std::string_view(""), std::string_view("Unknown command.\n"),
                               std::string_view("# pxname,svname,scur\np1,FRONTEND,0\n"),
                               std::string_view("# pxname,svname,scur,status,addr\np1,FRONTEND,0\n")}) {
    auto rows = parse_show_stat(bad);
    ASSERT_FALSE(rows) << "\"" << bad << "\"";
    EXPECT_EQ(rows.error().code, ErrorCode::kParse);
  }
}

TEST(RuntimeStats, HealthWordsOfHaproxy) {
  EXPECT_EQ(server_health("UP"), ServerHealth::kUp);
  EXPECT_EQ(server_health("UP 1/2"), ServerHealth::kUp);
  EXPECT_EQ(server_health("DOWN"), ServerHealth::kDown);
  EXPECT_EQ(server_health("DOWN 1/2"), ServerHealth::kDown);
  EXPECT_EQ(server_health("NOLB"), ServerHealth::kDown);
  EXPECT_EQ(server_health("DRAIN"), ServerHealth::kDown);
  EXPECT_EQ(server_health("no check"), ServerHealth::kUnchecked);
}

TEST(RuntimeStats, FreeSlotsAreNotServersAndOldWorkersSessionsAreAdded) {
  auto current = parse_show_stat(kShowStat);
  ASSERT_TRUE(current);
  // An old worker still holds 4 sessions on 20001 (one of them to s1's address) and one on a
  // port the new config no longer has.
  auto old = parse_show_stat(
      "# pxname,svname,scur,status,addr\n"
      "p20001,FRONTEND,4,OPEN,\n"
      "p20001,s1,1,UP,10.0.0.7:3306\n"
      "p20001,s2,3,UP,10.0.0.99:3306\n"
      "p29999,FRONTEND,1,OPEN,\n");
  ASSERT_TRUE(old) << old.error().describe();
  const auto listeners = combine_worker_stats(*current, {*old});
  ASSERT_EQ(listeners.size(), 2u);
  const ListenerRuntime& mysql = listeners.at(20001);
  EXPECT_EQ(mysql.sessions, 7);
  EXPECT_EQ(mysql.servers, (std::vector<ServerRuntime>{{"10.0.0.7:3306", ServerHealth::kUp, "UP", 3},
                                                       {"10.0.0.8:3306", ServerHealth::kDown, "DOWN 1/2", 0}}));
  EXPECT_EQ(listeners.at(20002).servers,
            (std::vector<ServerRuntime>{{"[fd00::5]:6379", ServerHealth::kUnchecked, "no check", 0}}));
}

TEST(RuntimeStats, RangeModeCountsAPortsSessionsOnTheBackendItsMapNames) {
  // One frontend for every port: its sessions belong to no port in particular.
  auto rows = parse_show_stat(
      "# pxname,svname,scur,status,addr\n"
      "berth_range,FRONTEND,9,OPEN,\n"
      "k1f3a09c2_1,BACKEND,2,UP,\n"
      "k1f3a09c2_1,s1,2,UP,10.0.0.7:3306\n"
      "k1f3a09c2_1,s2,0,MAINT,127.0.0.1:1\n"
      "k1f3a09c2_2,BACKEND,7,UP,\n"
      "k1f3a09c2_2,s1,7,no check,10.0.0.8:5432\n"
      "k1f3a09c2_3,BACKEND,0,UP,\n");
  ASSERT_TRUE(rows) << rows.error().describe();
  ProxyNaming naming{.range_backends = std::map<std::string, int>{{"k1f3a09c2_1", 26735}, {"k1f3a09c2_2", 26736}}};
  const auto listeners = combine_worker_stats(*rows, {}, naming);
  ASSERT_EQ(listeners.size(), 2u) << "a backend no port maps to is no listener";
  EXPECT_EQ(listeners.at(26735).sessions, 2);
  EXPECT_EQ(listeners.at(26735).servers,
            (std::vector<ServerRuntime>{{"10.0.0.7:3306", ServerHealth::kUp, "UP", 2}}));
  EXPECT_EQ(listeners.at(26736).sessions, 7);
  // The per-port names mean nothing in range mode.
  EXPECT_FALSE(naming.port_of("p26735"));
}

TEST(MapEntries, PortKeyedEntriesOfShowMap) {
  const auto entries = parse_show_map(
      "0x55d1c0a8e2f0 26735 k1f3a09c2_4\n"
      "0x55d1c0a8e340 26736 tenant/db:3306\n"
      "0x55d1c0a8e390 26735 k1f3a09c2_9\n"  // a duplicate key: HAProxy matches the first
      "0x55d1c0a8e3e0 notaport x\n"
      "0x55d1c0a8e430 70000 x\n"
      "\n");
  EXPECT_EQ(entries, (std::map<int, std::string>{{26735, "k1f3a09c2_4"}, {26736, "tenant/db:3306"}}));
}

}  // namespace
}  // namespace berth::haproxy
