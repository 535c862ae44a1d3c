// LIST: order, selectors, and paging that stays consistent while objects change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "kube-sim/object_store.h"
#include "object_fixtures.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;

std::string numbered(int i) { return (i < 10 ? "s0" : "s") + std::to_string(i); }

std::vector<std::string> keys(const ListResult& r) {
  std::vector<std::string> out;
  for (const auto& o : r.items) out.push_back(o["metadata"]["namespace"].get<std::string>() + "/" + o["metadata"]["name"].get<std::string>());
  return out;
}

ListRequest req(std::string ns = "", std::string labels = "", std::string fields = "", std::int64_t limit = 0,
                std::string token = "") {
  ListRequest r;
  r.ns = std::move(ns);
  r.label_selector = std::move(labels);
  r.field_selector = std::move(fields);
  r.limit = limit;
  r.continue_token = std::move(token);
  return r;
}

class ObjectStoreListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.create(kube::kNamespaces, "", json{{"metadata", {{"name", "b-team"}}}}).has_value());
    for (const auto& [ns, name, app] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"default", "web", "web"}, {"b-team", "db", "db"}, {"default", "cache", "cache"}, {"default", "db", "db"}}) {
      ASSERT_TRUE(store_.create(kube::kServices, ns, labeled_service(name, {{"app", app}})).has_value());
    }
  }
  ObjectStore store_;
};

TEST_F(ObjectStoreListTest, OrderedByNamespaceThenName) {
  auto r = store_.list(kube::kServices, req());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(keys(*r), (std::vector<std::string>{"b-team/db", "default/cache", "default/db", "default/web"}));
  EXPECT_EQ(r->resource_version, std::to_string(store_.resource_version()));
  EXPECT_EQ(r->continue_token, "");
  EXPECT_FALSE(r->remaining_item_count.has_value());
}

TEST_F(ObjectStoreListTest, NamespaceAndSelectorsFilter) {
  EXPECT_EQ(keys(*store_.list(kube::kServices, req("default"))),
            (std::vector<std::string>{"default/cache", "default/db", "default/web"}));
  EXPECT_EQ(keys(*store_.list(kube::kServices, req("", "app=db"))), (std::vector<std::string>{"b-team/db", "default/db"}));
  EXPECT_EQ(keys(*store_.list(kube::kServices, req("", "app in (cache,web)"))),
            (std::vector<std::string>{"default/cache", "default/web"}));
  EXPECT_EQ(keys(*store_.list(kube::kServices, req("", "", "metadata.name=db,metadata.namespace!=b-team"))),
            (std::vector<std::string>{"default/db"}));
  auto bad = store_.list(kube::kServices, req("", "app=="));
  ASSERT_TRUE(bad.has_value());  // "app==" selects an empty value
  auto invalid = store_.list(kube::kServices, req("", "app in (x"));
  ASSERT_FALSE(invalid.has_value());
  EXPECT_EQ(invalid.error().http_status, 400);
  auto namespaces = store_.list(kube::kNamespaces, req());
  ASSERT_TRUE(namespaces.has_value());
  EXPECT_EQ(namespaces->items.size(), 4u);
}

TEST_F(ObjectStoreListTest, PagesWithRemainingCount) {
  auto p1 = store_.list(kube::kServices, req("", "", "", 3));
  ASSERT_TRUE(p1.has_value());
  EXPECT_EQ(p1->items.size(), 3u);
  ASSERT_NE(p1->continue_token, "");
  EXPECT_EQ(p1->remaining_item_count, 1);
  auto p2 = store_.list(kube::kServices, req("", "", "", 3, p1->continue_token));
  ASSERT_TRUE(p2.has_value()) << p2.error().message;
  EXPECT_EQ(keys(*p2), (std::vector<std::string>{"default/web"}));
  EXPECT_EQ(p2->continue_token, "");
  EXPECT_EQ(p2->resource_version, p1->resource_version);
}

// Every object that existed when the first page was served is listed exactly once, with its
// content as of then, whatever is written between pages.
TEST(ObjectStorePagingTest, PagesShowOneConsistentVersionAcrossWrites) {
  ObjectStore store;
  std::map<std::string, json> at_start;
  for (int i = 0; i < 20; ++i) {
    std::string name = numbered(i);
    at_start[name] = *store.create(kube::kServices, "default", labeled_service(name));
  }
  std::vector<json> listed;
  std::string token;
  std::string version;
  int page = 0;
  do {
    auto r = store.list(kube::kServices, req("default", "", "", 3, token));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    if (version.empty()) version = r->resource_version;
    EXPECT_EQ(r->resource_version, version);
    listed.insert(listed.end(), r->items.begin(), r->items.end());
    token = r->continue_token;
    // Between pages: delete one not listed yet, add one before and one after, modify another.
    ++page;
    std::string name = numbered(20 - page);
    (void)store.remove(kube::kServices, "default", name);
    ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("a" + std::to_string(page))).has_value());
    ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("z" + std::to_string(page))).has_value());
    name = numbered(page);
    json changed = *store.get(kube::kServices, "default", name);
    changed["metadata"]["labels"] = {{"page", std::to_string(page)}};
    ASSERT_TRUE(store.update(kube::kServices, "default", name, changed).has_value());
  } while (!token.empty());
  ASSERT_EQ(listed.size(), at_start.size());
  for (const auto& obj : listed) {
    std::string name = obj["metadata"]["name"];
    ASSERT_TRUE(at_start.contains(name)) << name;
    EXPECT_EQ(obj, at_start[name]);
  }
}

TEST(ObjectStorePagingTest, ExpiredAndMalformedTokens) {
  ObjectStore store;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("s" + std::to_string(i))).has_value());
  auto p1 = store.list(kube::kServices, req("", "", "", 2));
  ASSERT_TRUE(p1.has_value());
  ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("later")).has_value());
  store.compact();
  auto expired = store.list(kube::kServices, req("", "", "", 2, p1->continue_token));
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().code, ErrorCode::kGone);
  EXPECT_EQ(expired.error().http_status, 410);

  auto garbage = store.list(kube::kServices, req("", "", "", 2, "!!not-a-token!!"));
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().http_status, 400);
  auto negative = store.list(kube::kServices, req("", "", "", -1));
  ASSERT_FALSE(negative.has_value());
  EXPECT_EQ(negative.error().http_status, 400);
}

TEST(ObjectStorePagingTest, TokenAtCurrentVersionSurvivesCompaction) {
  // compact() forgets history, but a token taken at the current version needs none.
  ObjectStore store;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("s" + std::to_string(i))).has_value());
  auto p1 = store.list(kube::kServices, req("", "", "", 2));
  store.compact();
  auto p2 = store.list(kube::kServices, req("", "", "", 2, p1->continue_token));
  ASSERT_TRUE(p2.has_value()) << p2.error().message;
  EXPECT_EQ(keys(*p2), (std::vector<std::string>{"default/s2", "default/s3"}));
}

}  // namespace
}  // namespace berth::kubesim
