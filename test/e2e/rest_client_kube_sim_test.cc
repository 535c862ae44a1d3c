// Writes and authentication of the REST client against a real kube-sim over loopback HTTPS.
#include <gtest/gtest.h>

#include <fstream>

#include "kube/annotation_patch.h"
#include "kube/service.h"
#include "support/kube_sim_cluster.h"

namespace berth::testing {
namespace {

using kube::kServices;

class RestClientAgainstKubeSim : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.ready()) << cluster_.error(); }
  KubeSimCluster cluster_;
};

TEST_F(RestClientAgainstKubeSim, AnnotationPatchWithAStaleResourceVersionIsAConflictAndChangesNothing) {
  auto created = cluster_.api().create(kServices, "default", service_manifest("mysql"));
  ASSERT_TRUE(created) << created.error().describe();
  const std::string rv0 = (*created)["metadata"]["resourceVersion"];

  auto first = kube::patch_annotations(cluster_.api(), "default", "mysql", rv0, {{"haproxy-ingress/3306", "26735"}});
  ASSERT_TRUE(first) << first.error().describe();

  // A second writer still holding rv0 must not overwrite the first one's allocation.
  auto stale = kube::patch_annotations(cluster_.api(), "default", "mysql", rv0, {{"haproxy-ingress/3306", "20000"}});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict) << stale.error().describe();
  EXPECT_EQ(stale.error().http_status, 409);

  auto now = cluster_.api().get(kServices, "default", "mysql");
  ASSERT_TRUE(now);
  auto svc = kube::parse_service(*now);
  ASSERT_TRUE(svc);
  EXPECT_EQ(svc->meta.annotations.at("haproxy-ingress/3306"), "26735");

  // With the current resourceVersion the annotation is removed (null in the merge patch).
  auto removed = kube::patch_annotations(cluster_.api(), "default", "mysql", svc->meta.resource_version,
                                         {{"haproxy-ingress/3306", std::nullopt}});
  ASSERT_TRUE(removed) << removed.error().describe();
  auto after = kube::parse_service(*removed);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->meta.annotations.contains("haproxy-ingress/3306"));
}

TEST_F(RestClientAgainstKubeSim, ErrorsCarryTheServersReasons) {
  ASSERT_TRUE(cluster_.api().create(kServices, "default", service_manifest("pg", 5432)));
  auto again = cluster_.api().create(kServices, "default", service_manifest("pg", 5432));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto missing = cluster_.api().get(kServices, "default", "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto invalid = cluster_.api().create(kServices, "default", service_manifest("bad", 70000));
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalid) << invalid.error().describe();
  EXPECT_NE(invalid.error().message.find("70000"), std::string::npos) << invalid.error().message;
}

TEST_F(RestClientAgainstKubeSim, ARotatedTokenFileIsReReadAfterA401) {
  // A kubeconfig whose user reads its token from a file, as a projected service-account token.
  const auto dir = cluster_.sim().dir();
  const auto token_file = dir / "rotating-token";
  const auto ca_file = dir / "rotating-ca.crt";
  const auto kubeconfig = dir / "rotating-kubeconfig";
  std::ofstream(ca_file) << cluster_.sim().ca_pem();
  std::ofstream(token_file) << cluster_.sim().token();
  std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: rot\n"
                            << "clusters:\n- name: sim\n  cluster:\n    server: " << cluster_.sim().server_url()
                            << "\n    certificate-authority: rotating-ca.crt\n"
                            << "users:\n- name: sa\n  user:\n    tokenFile: rotating-token\n"
                            << "contexts:\n- name: rot\n  context: {cluster: sim, user: sa}\n";
  auto config = kube::load_kubeconfig(kubeconfig);
  ASSERT_TRUE(config) << config.error().describe();
  auto client = kube::KubeClient::create(*config, {.qps = 0, .burst = 1}, SystemClock::instance());
  ASSERT_TRUE(client->api().list(kServices, "default", {}));
  const int reads_before = client->tokens().reads();

  // The token rotates: the new one is valid, the file holds it, the old one is revoked.
  ASSERT_TRUE(cluster_.sim().admin("POST", "/admin/tokens", R"({"token": "rotated-token-2"})"));
  std::ofstream(token_file, std::ios::trunc) << "rotated-token-2\n";
  ASSERT_TRUE(cluster_.sim().admin("DELETE", "/admin/tokens/" + cluster_.sim().token()));

  auto listed = client->api().list(kServices, "default", {});
  ASSERT_TRUE(listed) << listed.error().describe();
  EXPECT_GT(client->tokens().reads(), reads_before);
}

TEST_F(RestClientAgainstKubeSim, AWrongTokenIsUnauthorizedAfterOneReRead) {
  auto config = cluster_.config();
  config.token = "not-the-token";
  auto client = kube::KubeClient::create(config, {.qps = 0, .burst = 1}, SystemClock::instance());
  auto listed = client->api().list(kServices, "default", {});
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().code, ErrorCode::kUnauthorized);
}

}  // namespace
}  // namespace berth::testing
