// The names the per-port mode gives proxies and server slots, and reading them back.
#include <gtest/gtest.h>

#include "haproxy/model.h"

namespace berth::haproxy {
namespace {

TEST(ModelNames, ReadBackWhatTheyWrite) {
  for (int port : {1, 3306, 26735, 65535}) EXPECT_EQ(host_port_of_proxy(proxy_name(port)), port);
  for (std::size_t slot : {0u, 1u, 41u}) EXPECT_EQ(slot_index_of(slot_name(slot)), slot);
}

TEST(ModelNames, OtherNamesAreNotBerths) {
  for (std::string_view name : {"", "p", "p0", "p65536", "p-1", "p+1", "p12x", "q123", "berth_metrics", "stats",
                                "FRONTEND", "s1"}) {
    EXPECT_FALSE(host_port_of_proxy(name)) << name;
  }
  for (std::string_view name : {"", "s", "s0", "s-1", "s1a", "p1", "BACKEND"}) EXPECT_FALSE(slot_index_of(name)) << name;
}

}  // namespace
}  // namespace berth::haproxy
