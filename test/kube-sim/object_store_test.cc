#include "kube-sim/object_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "object_fixtures.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(ObjectStoreTest, CreateStampsServerFields) {
  ObjectStore store;
  std::uint64_t before = store.resource_version();
  auto created = store.create(kube::kServices, "default", service("db"));
  ASSERT_TRUE(created.has_value()) << created.error().message;
  const json& m = (*created)["metadata"];
  EXPECT_EQ((*created)["apiVersion"], "v1");
  EXPECT_EQ((*created)["kind"], "Service");
  EXPECT_EQ(m["namespace"], "default");
  EXPECT_THAT(m["uid"].get<std::string>(),
              ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_THAT(m["creationTimestamp"].get<std::string>(),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
  EXPECT_EQ(rv_of(*created), before + 1);
  EXPECT_EQ(store.resource_version(), before + 1);

  auto got = store.get(kube::kServices, "default", "db");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, *created);
}

TEST(ObjectStoreTest, InitialNamespacesExistAndAreActive) {
  ObjectStore store;
  for (const char* ns : {"default", "kube-system", "kube-public"}) {
    auto got = store.get(kube::kNamespaces, "", ns);
    ASSERT_TRUE(got.has_value()) << ns;
    EXPECT_EQ((*got)["status"]["phase"], "Active");
    EXPECT_FALSE((*got)["metadata"].contains("namespace"));
  }
}

TEST(ObjectStoreTest, DuplicateCreateIsAlreadyExists) {
  ObjectStore store;
  ASSERT_TRUE(store.create(kube::kServices, "default", service("db")).has_value());
  auto again = store.create(kube::kServices, "default", service("db"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().http_status, 409);
  EXPECT_EQ(again.error().message, "services \"db\" already exists");
}

TEST(ObjectStoreTest, MissingNamespaceAndObjectAreNotFound) {
  ObjectStore store;
  auto r = store.create(kube::kServices, "nope", service("db"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().http_status, 404);
  EXPECT_EQ(r.error().message, "namespaces \"nope\" not found");

  auto g = store.get(kube::kServices, "default", "x");
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(g.error().message, "services \"x\" not found");
  auto l = store.get(kube::kLeases, "default", "x");
  ASSERT_FALSE(l.has_value());
  EXPECT_EQ(l.error().message, "leases.coordination.k8s.io \"x\" not found");
  auto d = store.remove(kube::kServices, "default", "x");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().http_status, 404);
}

TEST(ObjectStoreTest, UpdateChecksResourceVersionAndKeepsServerFields) {
  ObjectStore store;
  json created = *store.create(kube::kServices, "default", service("db"));
  json changed = created;
  changed["metadata"]["labels"] = {{"a", "b"}};
  changed["metadata"]["uid"] = "client-made-up";
  changed["metadata"]["creationTimestamp"] = "1999-01-01T00:00:00Z";
  auto updated = store.update(kube::kServices, "default", "db", changed);
  ASSERT_TRUE(updated.has_value()) << updated.error().message;
  EXPECT_EQ((*updated)["metadata"]["uid"], created["metadata"]["uid"]);
  EXPECT_EQ((*updated)["metadata"]["creationTimestamp"], created["metadata"]["creationTimestamp"]);
  EXPECT_EQ((*updated)["metadata"]["labels"]["a"], "b");
  EXPECT_GT(rv_of(*updated), rv_of(created));

  // The same stale version again is a conflict.
  auto stale = store.update(kube::kServices, "default", "db", changed);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ(stale.error().http_status, 409);
  EXPECT_EQ(stale.error().message,
            "Operation cannot be fulfilled on services \"db\": the object has been modified; please apply your "
            "changes to the latest version and try again");

  // No resourceVersion: an unconditional update.
  json unconditional = changed;
  unconditional["metadata"].erase("resourceVersion");
  unconditional["metadata"]["labels"] = {{"a", "c"}};
  auto u2 = store.update(kube::kServices, "default", "db", unconditional);
  ASSERT_TRUE(u2.has_value()) << u2.error().message;
  EXPECT_EQ((*u2)["metadata"]["labels"]["a"], "c");
}

TEST(ObjectStoreTest, UpdateThatChangesNothingKeepsVersion) {
  ObjectStore store;
  json created = *store.create(kube::kServices, "default", service("db"));
  auto same = store.update(kube::kServices, "default", "db", created);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(rv_of(*same), rv_of(created));
  EXPECT_EQ(store.resource_version(), rv_of(created));
}

TEST(ObjectStoreTest, UpdateNameMismatchIsBadRequest) {
  ObjectStore store;
  json created = *store.create(kube::kServices, "default", service("db"));
  auto r = store.update(kube::kServices, "default", "other", created);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(ObjectStoreTest, BodyKindMustMatchResource) {
  ObjectStore store;
  json body = service("db");
  body["kind"] = "Namespace";
  auto r = store.create(kube::kServices, "default", body);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().http_status, 400);
  body["kind"] = "Service";
  body["apiVersion"] = "v2";
  r = store.create(kube::kServices, "default", body);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().http_status, 400);
}

TEST(ObjectStoreTest, UpdateOfMissingServiceIsNotFoundButLeaseIsCreated) {
  ObjectStore store;
  auto r = store.update(kube::kServices, "default", "db", service("db"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().http_status, 404);
  json lease = {{"metadata", {{"name", "leader"}}}, {"spec", {{"holderIdentity", "a"}}}};
  auto l = store.update(kube::kLeases, "default", "leader", lease);
  ASSERT_TRUE(l.has_value()) << l.error().message;
  EXPECT_EQ((*l)["spec"]["holderIdentity"], "a");
}

TEST(ObjectStoreTest, RemoveReturnsObjectWithNewVersion) {
  ObjectStore store;
  json created = *store.create(kube::kServices, "default", service("db"));
  auto removed = store.remove(kube::kServices, "default", "db");
  ASSERT_TRUE(removed.has_value());
  EXPECT_GT(rv_of(*removed), rv_of(created));
  EXPECT_EQ(store.resource_version(), rv_of(*removed));
  EXPECT_FALSE(store.get(kube::kServices, "default", "db").has_value());
}

TEST(ObjectStoreTest, RemovingNamespaceRemovesItsObjects) {
  ObjectStore store;
  ASSERT_TRUE(store.create(kube::kNamespaces, "", json{{"metadata", {{"name", "team"}}}}).has_value());
  ASSERT_TRUE(store.create(kube::kServices, "team", service("db")).has_value());
  ASSERT_TRUE(store.create(kube::kServices, "default", service("db")).has_value());
  ASSERT_TRUE(store.remove(kube::kNamespaces, "", "team").has_value());
  EXPECT_FALSE(store.get(kube::kServices, "team", "db").has_value());
  EXPECT_TRUE(store.get(kube::kServices, "default", "db").has_value());
  auto protected_ns = store.remove(kube::kNamespaces, "", "default");
  ASSERT_FALSE(protected_ns.has_value());
  EXPECT_EQ(protected_ns.error().http_status, 403);
}

TEST(ObjectStoreTest, GenerateNameMakesUniqueNames) {
  ObjectStore store;
  json ev = {{"metadata", {{"generateName", "db."}}}, {"reason", "Allocated"}};
  auto a = store.create(kube::kEvents, "default", ev);
  auto b = store.create(kube::kEvents, "default", ev);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT((*a)["metadata"]["name"].get<std::string>(), ::testing::StartsWith("db."));
  EXPECT_NE((*a)["metadata"]["name"], (*b)["metadata"]["name"]);
}

TEST(ObjectStoreTest, ServedResourcesAreFoundByUrlParts) {
  ASSERT_NE(find_resource("", "v1", "services"), nullptr);
  EXPECT_EQ(find_resource("coordination.k8s.io", "v1", "leases")->kind, "Lease");
  EXPECT_EQ(find_resource("discovery.k8s.io", "v1", "endpointslices")->kind, "EndpointSlice");
  EXPECT_EQ(find_resource("apps", "v1", "deployments")->kind, "Deployment");
  EXPECT_EQ(find_resource("apps", "v1", "statefulsets"), nullptr);
  EXPECT_EQ(find_resource("", "v1", "secrets"), nullptr);
  EXPECT_EQ(served_resources().size(), served_resource_table().size());
}

}  // namespace
}  // namespace berth::kubesim

namespace berth::kubesim {
namespace {

using nlohmann::json;

WatchRequest watch_from(std::string version) {
  WatchRequest r;
  r.resource_version = std::move(version);
  return r;
}

TEST(ObjectStoreServiceTest, DefaultsAreApplied) {
  ObjectStore store;
  auto created = store.create(kube::kServices, "default", svc("db", {{"ports", {{{"port", 3306}}}}}));
  ASSERT_TRUE(created.has_value()) << created.error().message;
  const json& spec = (*created)["spec"];
  EXPECT_EQ(spec["type"], "ClusterIP");
  EXPECT_EQ(spec["sessionAffinity"], "None");
  EXPECT_EQ(spec["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(spec["ports"][0]["targetPort"], 3306);
  std::string ip = spec["clusterIP"];
  EXPECT_THAT(ip, ::testing::MatchesRegex(R"(10\.96\.[0-9]+\.[0-9]+)"));
  EXPECT_EQ(spec["clusterIPs"], json::array({ip}));
}

TEST(ObjectStoreServiceTest, ClusterIpsAreUniqueReleasedAndNotReusedAtOnce) {
  ObjectStore store(StoreOptions{.service_cidr = "10.0.0.0/29", .history_limit = 1000});
  // /29: .0 network, .1 reserved, .7 broadcast: .2 to .6 are allocatable.
  std::set<std::string> ips;
  for (int i = 0; i < 5; ++i) {
    auto r = store.create(kube::kServices, "default", svc("s" + std::to_string(i), {{"ports", {{{"port", 80}}}}}));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ips.insert((*r)["spec"]["clusterIP"].get<std::string>());
  }
  EXPECT_EQ(ips.size(), 5u);
  auto full = store.create(kube::kServices, "default", svc("s5", {{"ports", {{{"port", 80}}}}}));
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().http_status, 500);

  json gone = *store.remove(kube::kServices, "default", "s2");
  auto again = store.create(kube::kServices, "default", svc("s5", {{"ports", {{{"port", 80}}}}}));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ((*again)["spec"]["clusterIP"], gone["spec"]["clusterIP"]);  // the only free one
}

TEST(ObjectStoreServiceTest, ReleasedIpIsNotHandedOutNext) {
  ObjectStore store;
  json a = *store.create(kube::kServices, "default", svc("a", {{"ports", {{{"port", 80}}}}}));
  ASSERT_TRUE(store.remove(kube::kServices, "default", "a").has_value());
  json b = *store.create(kube::kServices, "default", svc("b", {{"ports", {{{"port", 80}}}}}));
  EXPECT_NE(a["spec"]["clusterIP"], b["spec"]["clusterIP"]);
}

TEST(ObjectStoreServiceTest, HeadlessStaysNone) {
  ObjectStore store;
  auto r = store.create(kube::kServices, "default", svc("h", {{"clusterIP", "None"}}));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)["spec"]["clusterIP"], "None");
  EXPECT_EQ((*r)["spec"]["clusterIPs"], json::array({"None"}));
}

TEST(ObjectStoreServiceTest, RequestedClusterIpIsReservedOnce) {
  ObjectStore store;
  auto a = store.create(kube::kServices, "default", svc("a", {{"clusterIP", "10.96.5.5"}, {"ports", {{{"port", 80}}}}}));
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ((*a)["spec"]["clusterIP"], "10.96.5.5");
  auto b = store.create(kube::kServices, "default", svc("b", {{"clusterIP", "10.96.5.5"}, {"ports", {{{"port", 80}}}}}));
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().http_status, 422);
  EXPECT_THAT(b.error().message, HasSubstr("Service \"b\" is invalid: spec.clusterIPs"));
  EXPECT_THAT(b.error().message, HasSubstr("provided IP is already allocated"));
  auto c = store.create(kube::kServices, "default", svc("c", {{"clusterIP", "192.168.0.1"}, {"ports", {{{"port", 80}}}}}));
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error().message, HasSubstr("not in the valid range"));
}

TEST(ObjectStoreServiceTest, UpdateKeepsClusterIpAndRejectsChange) {
  ObjectStore store;
  json created = *store.create(kube::kServices, "default", svc("a", {{"ports", {{{"port", 80}}}}}));
  json body = svc("a", {{"ports", {{{"port", 81}}}}});  // as a client that never read the object
  auto updated = store.update(kube::kServices, "default", "a", body);
  ASSERT_TRUE(updated.has_value()) << updated.error().message;
  EXPECT_EQ((*updated)["spec"]["clusterIP"], created["spec"]["clusterIP"]);
  EXPECT_EQ((*updated)["spec"]["ports"][0]["port"], 81);

  body["spec"]["clusterIP"] = "10.96.9.9";
  auto changed = store.update(kube::kServices, "default", "a", body);
  ASSERT_FALSE(changed.has_value());
  EXPECT_EQ(changed.error().http_status, 422);
  EXPECT_THAT(changed.error().message, HasSubstr("field is immutable"));
}

TEST(ObjectStoreServiceTest, StatusIsNotWrittenThroughTheMainResource) {
  ObjectStore store;
  json created = *store.create(kube::kServices, "default", svc("a", {{"ports", {{{"port", 80}}}}}));
  json body = created;
  body["status"] = {{"loadBalancer", {{"ingress", {{{"ip", "1.2.3.4"}}}}}}};
  auto updated = store.update(kube::kServices, "default", "a", body);
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ((*updated)["status"], created["status"]);
}

TEST(ObjectStoreSnapshotTest, RoundTripKeepsObjectsVersionAndIps) {
  ObjectStore store;
  ASSERT_TRUE(store.create(kube::kNamespaces, "", json{{"metadata", {{"name", "team"}}}}).has_value());
  json a = *store.create(kube::kServices, "team", svc("a", {{"ports", {{{"port", 80}}}}}));
  json lease = *store.create(kube::kLeases, "default", json{{"metadata", {{"name", "l"}}}, {"spec", {{"holderIdentity", "x"}}}});
  std::uint64_t version = store.resource_version();
  json snap = store.snapshot();

  ObjectStore restored;
  ASSERT_TRUE(restored.restore(json::parse(snap.dump())).has_value());
  EXPECT_EQ(restored.resource_version(), version);
  EXPECT_EQ(*restored.get(kube::kServices, "team", "a"), a);
  EXPECT_EQ(*restored.get(kube::kLeases, "default", "l"), lease);
  EXPECT_EQ(restored.snapshot(), snap);

  // The restored ClusterIP is taken; new writes continue the version sequence.
  auto b = restored.create(kube::kServices, "team", svc("b", {{"clusterIP", a["spec"]["clusterIP"]}, {"ports", {{{"port", 80}}}}}));
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().http_status, 422);
  json c = *restored.create(kube::kServices, "team", svc("c", {{"ports", {{{"port", 80}}}}}));
  EXPECT_EQ(std::stoull(c["metadata"]["resourceVersion"].get<std::string>()), version + 1);

  // History is not persisted.
  auto old = restored.watch(kube::kServices, watch_from(std::to_string(version - 1)));
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().http_status, 410);
  EXPECT_EQ(old.error().code, ErrorCode::kGone);
  EXPECT_TRUE(restored.watch(kube::kServices, watch_from(std::to_string(version))).has_value());
}

TEST(ObjectStoreSnapshotTest, RejectsGarbage) {
  ObjectStore store;
  EXPECT_FALSE(store.restore(json{{"kind", "Other"}}).has_value());
  EXPECT_FALSE(store.restore(json{{"kind", "KubeSimState"}, {"resourceVersion", "x"}}).has_value());
  EXPECT_TRUE(store.get(kube::kNamespaces, "", "default").has_value());
}

}  // namespace
}  // namespace berth::kubesim
