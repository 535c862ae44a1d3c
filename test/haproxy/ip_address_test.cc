#include "haproxy/ip_address.h"

#include <gtest/gtest.h>

namespace berth::haproxy {
namespace {

TEST(IpAddress, ParsesBothFamiliesIntoCanonicalText) {
  auto v4 = IpAddress::parse("10.0.0.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->text(), "10.0.0.1");
  EXPECT_FALSE(v4->is_v6());
  EXPECT_EQ(v4->with_port(3306), "10.0.0.1:3306");

  auto v6 = IpAddress::parse("FD00:0:0::0001");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->text(), "fd00::1");
  EXPECT_TRUE(v6->is_v6());
  EXPECT_EQ(v6->with_port(5432), "[fd00::1]:5432");

  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->is_unspecified());
  EXPECT_TRUE(IpAddress::parse("::")->is_unspecified());
  EXPECT_FALSE(IpAddress::parse("127.0.0.1")->is_unspecified());
}

TEST(IpAddress, RejectsAnythingButExactlyAnAddress) {
  for (const char* bad : {"", " 10.0.0.1", "10.0.0.1 ", "10.0.0.300", "10.0.0", "010.0.0.1", "fe80::1%eth0",
                          "[fd00::1]", "10.0.0.1:80", "10.0.0.1\nbind", "host.example", "1.2.3.4#x"}) {
    auto parsed = IpAddress::parse(bad);
    EXPECT_FALSE(parsed) << "accepted \"" << bad << "\"";
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    }
  }
  std::string with_nul("10.0.0.1\0x", 10);
  EXPECT_FALSE(IpAddress::parse(with_nul));
  EXPECT_FALSE(IpAddress::parse(std::string(200, '1')));
}

TEST(Cidr, ParsesRangesAndSingleHosts) {
  EXPECT_EQ(Cidr::parse("10.0.0.0/8")->text(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::parse("192.168.1.7")->text(), "192.168.1.7/32");
  EXPECT_EQ(Cidr::parse("FD00::/8")->text(), "fd00::/8");
  EXPECT_EQ(Cidr::parse("::1")->text(), "::1/128");
  EXPECT_EQ(Cidr::parse("0.0.0.0/0")->text(), "0.0.0.0/0");
  EXPECT_EQ(Cidr::parse("10.1.2.0/23")->prefix_length(), 23);
}

TEST(Cidr, RejectsTyposInsteadOfGuessing) {
  auto host_bits = Cidr::parse("10.0.0.1/8");
  ASSERT_FALSE(host_bits);
  EXPECT_NE(host_bits.error().message.find("did you mean \"10.0.0.0/8\""), std::string::npos)
      << host_bits.error().message;
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/+8", "10.0.0.0/8 ",
                          "10.0.0.0/8/8", "/8", "10.0.0.0/-1", "abc/8"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << "accepted \"" << bad << "\"";
  }
}

}  // namespace
}  // namespace berth::haproxy
