#include "kube/name_validation.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::kube {
namespace {

TEST(NameValidation, FollowsKubeApiserversRules) {
  EXPECT_EQ(dns1123_label_error("a-1"), "");
  EXPECT_NE(dns1123_label_error("a.b"), "");
  EXPECT_EQ(dns1123_subdomain_error("a.b-c"), "");
  EXPECT_NE(dns1123_subdomain_error("a..b"), "");
  EXPECT_NE(dns1123_subdomain_error(std::string(254, 'a')), "");
  EXPECT_EQ(dns1035_label_error("db-1"), "");
  EXPECT_NE(dns1035_label_error("db-"), "");
  EXPECT_EQ(qualified_name_error("haproxy-ingress/3306"), "");
  EXPECT_EQ(qualified_name_error("kubectl.kubernetes.io/last-applied-configuration"), "");
  EXPECT_NE(qualified_name_error("/x"), "");
  EXPECT_NE(qualified_name_error("Example.com/x"), "");
  EXPECT_NE(qualified_name_error("a/" + std::string(64, 'b')), "");
  EXPECT_EQ(label_value_error(""), "");
  EXPECT_NE(label_value_error("a b"), "");
}

TEST(NameValidation, QualifiedNamesAndSubdomainsAsBerthsOwnKeysUseThem) {
  EXPECT_EQ(qualified_name_error("haproxy-ingress/3306"), "");
  EXPECT_EQ(qualified_name_error("a.b-c_d"), "");
  EXPECT_NE(qualified_name_error("-a"), "");
  EXPECT_NE(qualified_name_error("a/"), "");
  EXPECT_NE(qualified_name_error("/a"), "");
  EXPECT_EQ(dns1123_subdomain_error("a.b-c.d"), "");
  EXPECT_NE(dns1123_subdomain_error("a.-b"), "");
  EXPECT_NE(dns1123_subdomain_error(".a"), "");
}

}  // namespace
}  // namespace berth::kube
