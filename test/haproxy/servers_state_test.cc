#include "haproxy/servers_state.h"

#include <gtest/gtest.h>

namespace berth::haproxy {
namespace {

constexpr std::string_view kHeader =
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state "
    "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr "
    "srv_agent_addr srv_agent_port";

// `show servers state` of HAProxy 2.6.12, verbatim: p18101/s1 routed with `set server ... addr`
// + `state ready`, s2 still disabled by the config; p18102/s1 checked and drained while its
// check fails, s2 moved to an IPv6 address, s3 forced into maint.
const std::string kDump = std::string("1\n") + std::string(kHeader) +
                          "\n"
                          "2 p18101 1 s1 127.0.0.1 2 4 1 1 2 1 0 0 8 0 0 0 - 18180 - 0 0 - - 0\n"
                          "2 p18101 2 s2 127.0.0.1 0 5 1 1 6 1 0 0 8 0 0 0 - 1 - 0 0 - - 0\n"
                          "3 p18102 1 s1 127.0.0.1 0 8 1 1 2 8 2 0 6 0 0 0 - 18199 - 0 0 - - 0\n"
                          "3 p18102 2 s2 fd00::5 0 5 1 1 6 1 0 0 8 0 0 0 - 5433 - 0 0 - - 0\n"
                          "3 p18102 3 s3 10.1.2.3 0 1 1 1 2 1 0 0 0 0 0 0 - 6379 - 0 0 - - 0\n";

TEST(ParseServersState, ReadsARealDump) {
  auto state = parse_servers_state(kDump);
  ASSERT_TRUE(state) << state.error().describe();
  EXPECT_EQ(state->header, kHeader);
  ASSERT_EQ(state->servers.size(), 5u);

  const auto& routed = state->servers[0];
  EXPECT_EQ(routed.backend, "p18101");
  EXPECT_EQ(routed.server, "s1");
  EXPECT_EQ(routed.address, "127.0.0.1");
  EXPECT_EQ(routed.port, 18180);
  EXPECT_EQ(routed.operational_state, 2);
  EXPECT_EQ(routed.admin_state, 4);  // "disabled in the config" stays set after `state ready`
  EXPECT_FALSE(routed.in_maintenance());
  EXPECT_EQ(routed.line, "2 p18101 1 s1 127.0.0.1 2 4 1 1 2 1 0 0 8 0 0 0 - 18180 - 0 0 - - 0");

  const auto& spare = state->servers[1];
  EXPECT_EQ(spare.port, 1);
  EXPECT_EQ(spare.admin_state, 5);
  EXPECT_TRUE(spare.in_maintenance());

  const auto& drained = state->servers[2];
  EXPECT_EQ(drained.admin_state, 8);
  EXPECT_FALSE(drained.in_maintenance());
  EXPECT_EQ(drained.operational_state, 0);

  EXPECT_EQ(state->servers[3].address, "fd00::5");
  EXPECT_EQ(state->servers[3].port, 5433);
  EXPECT_TRUE(state->servers[4].in_maintenance());
  EXPECT_EQ(state->servers[4].backend, "p18102");
}

TEST(ParseServersState, AcceptsTheTerminatingEmptyLineAndNoServers) {
  auto with_terminator = parse_servers_state(kDump + "\n");
  ASSERT_TRUE(with_terminator);
  EXPECT_EQ(with_terminator->servers.size(), 5u);

  auto empty = parse_servers_state(std::string("1\n") + std::string(kHeader) + "\n\n");
  ASSERT_TRUE(empty) << empty.error().describe();
  EXPECT_TRUE(empty->servers.empty());
}

TEST(ParseServersState, FindsColumnsByNameNotPosition) {
  // A hypothetical later layout: columns reordered and one added.
  auto state = parse_servers_state(
      "1\n"
      "# srv_port be_name new_column srv_name srv_admin_state srv_op_state srv_addr\n"
      "3306 p26735 x s2 0 2 10.0.0.7\n");
  ASSERT_TRUE(state) << state.error().describe();
  ASSERT_EQ(state->servers.size(), 1u);
  EXPECT_EQ(state->servers[0],
            (ServerState{"p26735", "s2", "10.0.0.7", 3306, 2, 0, "3306 p26735 x s2 0 2 10.0.0.7"}));
}

TEST(ParseServersState, RejectsWhatItCannotTrust) {
  const std::string header(kHeader);
  for (const std::string& bad : {
           std::string(""),
           std::string("2\n") + header + "\n",                                     // unknown version
           std::string("1\n"),                                                     // no header
           std::string("1\n2 p1 1 s1 127.0.0.1 2 4\n"),                            // no header
           std::string("1\n# be_id be_name srv_id srv_name srv_addr\n"),           // missing columns
           "1\n" + header + "\n2 p18101 1 s1 127.0.0.1 2 4\n",                     // short line
           "1\n" + header + "\n2 p1 1 s1 127.0.0.1 2 4 1 1 2 1 0 0 8 0 0 0 - http - 0 0 - - 0\n",   // port
           "1\n" + header + "\n2 p1 1 s1 127.0.0.1 2 4 1 1 2 1 0 0 8 0 0 0 - 70000 - 0 0 - - 0\n",  // port range
           "1\n" + header + "\n2 p1 1 s1 127.0.0.1 up 4 1 1 2 1 0 0 8 0 0 0 - 80 - 0 0 - - 0\n",    // state
           std::string("No such backend.\n"),
       }) {
    auto state = parse_servers_state(bad);
    EXPECT_FALSE(state) << "accepted: " << bad;
    if (!state) {
      EXPECT_EQ(state.error().code, ErrorCode::kParse);
    }
  }
  auto missing = parse_servers_state("1\n# be_id be_name srv_id srv_name srv_addr\n");
  EXPECT_NE(missing.error().message.find("srv_op_state"), std::string::npos) << missing.error().message;
}

TEST(ToStateFile, WritesTheChosenLinesUnderTheHeader) {
  auto state = parse_servers_state(kDump);
  ASSERT_TRUE(state);
  ServersState kept{state->header, {}};
  for (const auto& server : state->servers) {
    if (server.backend == "p18102") kept.servers.push_back(server);
  }
  EXPECT_EQ(to_state_file(kept), std::string("1\n") + std::string(kHeader) +
                                     "\n"
                                     "3 p18102 1 s1 127.0.0.1 0 8 1 1 2 8 2 0 6 0 0 0 - 18199 - 0 0 - - 0\n"
                                     "3 p18102 2 s2 fd00::5 0 5 1 1 6 1 0 0 8 0 0 0 - 5433 - 0 0 - - 0\n"
                                     "3 p18102 3 s3 10.1.2.3 0 1 1 1 2 1 0 0 0 0 0 0 - 6379 - 0 0 - - 0\n");
  // The whole dump round-trips byte for byte.
  EXPECT_EQ(to_state_file(*state), kDump);
  EXPECT_EQ(parse_servers_state(to_state_file(kept))->servers, kept.servers);
}

}  // namespace
}  // namespace berth::haproxy
