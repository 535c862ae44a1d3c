// Unit tests of kube-sim's small parts: faults, tokens, kubeconfig, state saving, discovery,
// URL parsing and Status bodies.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "kube-sim/api_server.h"
#include "kube-sim/discovery.h"
#include "kube-sim/fault_injector.h"
#include "kube-sim/kubeconfig_writer.h"
#include "kube-sim/state_file.h"
#include "kube-sim/token_set.h"
#include "kube/kube_config.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace berth::kubesim {
namespace {

using berth::testing::TempDir;


TEST(FaultInjector, ErrorsAreCountedAndFilteredByPath) {
  FaultInjector faults;
  EXPECT_FALSE(faults.take_error("/api/v1/services"));
  faults.inject_errors(2, 429, 3, "/api/v1/namespaces/default/services");
  EXPECT_FALSE(faults.take_error("/apis/coordination.k8s.io/v1/leases"));
  auto first = faults.take_error("/api/v1/namespaces/default/services/a");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 429);
  EXPECT_EQ(first->retry_after_seconds, 3);
  EXPECT_TRUE(faults.take_error("/api/v1/namespaces/default/services"));
  EXPECT_FALSE(faults.take_error("/api/v1/namespaces/default/services"));
}

TEST(FaultInjector, ClearDisarmsEverything) {
  FaultInjector faults;
  faults.inject_errors(5, 503, 0, "");
  faults.set_latency(std::chrono::milliseconds(40));
  EXPECT_EQ(faults.latency(), std::chrono::milliseconds(40));
  faults.clear();
  EXPECT_FALSE(faults.take_error("/api"));
  EXPECT_EQ(faults.latency(), std::chrono::milliseconds(0));
  EXPECT_EQ(faults.describe()["errors"]["remaining"], 0);
}

TEST(TokenSet, AcceptsOnlyKnownBearerTokens) {
  TokenSet tokens("abc");
  EXPECT_TRUE(tokens.authorizes("Bearer abc"));
  EXPECT_TRUE(tokens.authorizes("bearer abc"));
  EXPECT_FALSE(tokens.authorizes("Bearer abcd"));
  EXPECT_FALSE(tokens.authorizes("Basic abc"));
  EXPECT_FALSE(tokens.authorizes("Bearer "));
  EXPECT_FALSE(tokens.authorizes(""));
  tokens.add("new");
  EXPECT_TRUE(tokens.authorizes("Bearer new"));
  EXPECT_TRUE(tokens.remove("abc"));
  EXPECT_FALSE(tokens.remove("abc"));
  EXPECT_FALSE(tokens.authorizes("Bearer abc"));
}

TEST(TokenSet, RandomTokensDiffer) {
  auto a = random_token();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, random_token());
}

TEST(Kubeconfig, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Kubeconfig, WrittenFileLoadsWithBerthsKubeconfigLoader) {
  TempDir dir;
  auto path = dir.path() / "kubeconfig";
  KubeconfigContent content{"https://127.0.0.1:6443", "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n",
                            "tok\"en"};
  ASSERT_TRUE(write_kubeconfig(path, content));
  auto loaded = kube::load_kubeconfig(path);
  ASSERT_TRUE(loaded) << loaded.error().describe();
  EXPECT_EQ(loaded->server, "https://127.0.0.1:6443");
  EXPECT_EQ(loaded->ca_pem, content.ca_pem);
  EXPECT_EQ(loaded->token, "tok\"en");
  EXPECT_EQ(loaded->default_namespace, "default");
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(StateFile, MissingFileIsNoState) {
  TempDir dir;
  auto state = read_state_file(dir.path() / "none.json");
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->has_value());
}

TEST(StateFile, RoundTripsAndRejectsGarbage) {
  TempDir dir;
  auto path = dir.path() / "state.json";
  ASSERT_TRUE(write_state_file(path, {{"a", 1}}));
  auto state = read_state_file(path);
  ASSERT_TRUE(state && state->has_value());
  EXPECT_EQ((**state)["a"], 1);
  {
    std::ofstream(path) << "{not json";
  }
  auto bad = read_state_file(path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kParse);
}

TEST(StateSaver, SavesOnceForABurstAfterTheInterval) {
  TempDir dir;
  auto path = dir.path() / "state.json";
  testing::FakeClock clock;
  std::atomic<int> version{0};
  StateSaver saver(path, [&] { return nlohmann::json{{"v", version.load()}}; }, clock,
                   std::chrono::milliseconds(200));
  version = 1;
  saver.mark_dirty();
  version = 2;
  saver.mark_dirty();
  clock.wait_for_sleepers(1);
  EXPECT_EQ(saver.saves(), 0u);
  clock.advance(std::chrono::milliseconds(200));
  // The saver thread writes once the clock has moved; wait until it has.
  while (saver.saves() == 0) std::this_thread::yield();
  EXPECT_EQ(saver.saves(), 1u);
  auto state = read_state_file(path);
  ASSERT_TRUE(state && state->has_value());
  EXPECT_EQ((**state)["v"], 2);
}

TEST(StateSaver, FlushWritesImmediately) {
  TempDir dir;
  auto path = dir.path() / "state.json";
  testing::FakeClock clock;
  StateSaver saver(path, [] { return nlohmann::json{{"x", true}}; }, clock);
  ASSERT_TRUE(saver.flush());
  auto state = read_state_file(path);
  ASSERT_TRUE(state && state->has_value());
  EXPECT_EQ((**state)["x"], true);
}

TEST(Discovery, CoreResourceListHasShortNamesAndVerbs) {
  auto doc = api_resource_list_document("", "v1");
  ASSERT_TRUE(doc);
  EXPECT_EQ((*doc)["groupVersion"], "v1");
  bool saw_services = false;
  for (const auto& r : (*doc)["resources"]) {
    if (r["name"] == "services") {
      saw_services = true;
      EXPECT_EQ(r["shortNames"][0], "svc");
      EXPECT_EQ(r["kind"], "Service");
      EXPECT_TRUE(r["namespaced"].get<bool>());
      EXPECT_NE(std::find(r["verbs"].begin(), r["verbs"].end(), "watch"), r["verbs"].end());
    }
    if (r["name"] == "namespaces") {
      EXPECT_FALSE(r["namespaced"].get<bool>());
    }
  }
  EXPECT_TRUE(saw_services);
  EXPECT_FALSE(api_resource_list_document("", "v2"));
  EXPECT_FALSE(api_resource_list_document("batch", "v1"));
}

TEST(Discovery, GroupListNamesDiscoveryAndCoordination) {
  auto doc = api_group_list_document();
  std::vector<std::string> names;
  for (const auto& g : doc["groups"]) names.push_back(g["name"]);
  EXPECT_NE(std::find(names.begin(), names.end(), "discovery.k8s.io"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "coordination.k8s.io"), names.end());
  EXPECT_EQ(doc["kind"], "APIGroupList");
}

TEST(Discovery, OpenApiV3DeclaresServerSideFieldValidation) {
  auto root = openapi_v3_root_document();
  EXPECT_TRUE(root["paths"].contains("api/v1"));
  EXPECT_TRUE(root["paths"].contains("apis/discovery.k8s.io/v1"));
  auto doc = openapi_v3_group_version_document("", "v1");
  ASSERT_TRUE(doc);
  const auto& patch = (*doc)["paths"]["/api/v1/namespaces/{namespace}/services/{name}"]["patch"];
  EXPECT_EQ(patch["x-kubernetes-group-version-kind"]["kind"], "Service");
  EXPECT_EQ(patch["parameters"][0]["name"], "fieldValidation");
}

TEST(ResourcePath, ParsesCollectionsObjectsAndNamespaces) {
  auto p = parse_resource_path("/api/v1/namespaces/default/services/web");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type->plural, "services");
  EXPECT_EQ(p->ns, "default");
  EXPECT_EQ(p->name, "web");

  p = parse_resource_path("/api/v1/services");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ns, "");
  EXPECT_EQ(p->name, "");

  p = parse_resource_path("/api/v1/namespaces/kube-system");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type->plural, "namespaces");
  EXPECT_EQ(p->name, "kube-system");

  p = parse_resource_path("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/berth");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type->kind, "Lease");
  EXPECT_EQ(p->ns, "kube-system");

  p = parse_resource_path("/apis/discovery.k8s.io/v1/endpointslices");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type->kind, "EndpointSlice");

  EXPECT_FALSE(parse_resource_path("/api/v1/pods"));
  EXPECT_FALSE(parse_resource_path("/api/v1/services/web"));  // namespaced needs a namespace
  EXPECT_FALSE(parse_resource_path("/api/v1/namespaces/default/services/web/status"));
  EXPECT_FALSE(parse_resource_path("/apis/batch/v1/namespaces/default/jobs"));
  EXPECT_FALSE(parse_resource_path("/healthz"));
}

TEST(StatusBody, CarriesReasonCodeAndDetails) {
  auto status = failure_status(404, status_reason(404), "services \"a\" not found", {{"name", "a"}, {"kind", "services"}});
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["reason"], "NotFound");
  EXPECT_EQ(status["code"], 404);
  EXPECT_EQ(status["details"]["name"], "a");
  EXPECT_EQ(status_reason(409, ErrorCode::kAlreadyExists), "AlreadyExists");
  EXPECT_EQ(status_reason(409, ErrorCode::kConflict), "Conflict");
  EXPECT_EQ(status_reason(410), "Expired");
  EXPECT_EQ(status_reason(429), "TooManyRequests");
  EXPECT_EQ(status_reason(503), "ServiceUnavailable");
  EXPECT_EQ(status_reason(422), "Invalid");
}

}  // namespace
}  // namespace berth::kubesim
