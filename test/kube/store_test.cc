#include "kube/store.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::kube {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Item {
  ObjectMeta meta;
  int value = 0;
};

std::shared_ptr<const Item> item(std::string ns, std::string name, std::string rv, int value = 0) {
  auto out = std::make_shared<Item>();
  out->meta.namespace_ = std::move(ns);
  out->meta.name = std::move(name);
  out->meta.resource_version = std::move(rv);
  out->meta.uid = "uid-" + out->meta.name;
  out->value = value;
  return out;
}

TEST(StoreTest, StartsEmptyAndUnsynced) {
  Store<Item> store;
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.get("a/b"), nullptr);
  EXPECT_THAT(store.list(), IsEmpty());
  EXPECT_FALSE(store.has_synced());
  store.mark_synced();
  EXPECT_TRUE(store.has_synced());
}

TEST(StoreTest, ReplaceReportsAddedChangedAndRemovedKeys) {
  Store<Item> store;
  StoreDiff first = store.replace({item("ns", "a", "1"), item("ns", "b", "2"), item("ns", "c", "3")}, "3");
  EXPECT_THAT(first.added, ElementsAre("ns/a", "ns/b", "ns/c"));
  EXPECT_THAT(first.changed, IsEmpty());
  EXPECT_THAT(first.removed, IsEmpty());
  EXPECT_EQ(store.resource_version(), "3");

  StoreDiff second = store.replace({item("ns", "a", "1"), item("ns", "b", "5"), item("ns", "d", "6")}, "6");
  EXPECT_THAT(second.added, ElementsAre("ns/d"));
  EXPECT_THAT(second.changed, ElementsAre("ns/b"));
  EXPECT_THAT(second.removed, ElementsAre("ns/c"));
  EXPECT_THAT(second.all(), ElementsAre("ns/b", "ns/c", "ns/d"));
  EXPECT_THAT(store.keys(), ElementsAre("ns/a", "ns/b", "ns/d"));
  EXPECT_EQ(store.resource_version(), "6");

  EXPECT_TRUE(store.replace({item("ns", "a", "1"), item("ns", "b", "5"), item("ns", "d", "6")}, "7").empty());
}

TEST(StoreTest, ReplaceCountsANewUidAsChanged) {
  Store<Item> store;
  store.replace({item("ns", "a", "1")}, "1");
  auto recreated = std::make_shared<Item>(*item("ns", "a", "1"));
  recreated->meta.uid = "another";
  EXPECT_THAT(store.replace({recreated}, "2").changed, ElementsAre("ns/a"));
}

TEST(StoreTest, ApplyReportsWhetherAnythingChanged) {
  Store<Item> store;
  EXPECT_TRUE(store.apply(WatchEventType::kAdded, item("ns", "a", "1", 1)));
  EXPECT_FALSE(store.apply(WatchEventType::kModified, item("ns", "a", "1", 1)));
  EXPECT_TRUE(store.apply(WatchEventType::kModified, item("ns", "a", "2", 7)));
  EXPECT_EQ(store.get("ns/a")->value, 7);
  EXPECT_FALSE(store.apply(WatchEventType::kBookmark, item("ns", "a", "3")));
  EXPECT_TRUE(store.apply(WatchEventType::kDeleted, item("ns", "a", "3")));
  EXPECT_FALSE(store.apply(WatchEventType::kDeleted, item("ns", "a", "3")));
  EXPECT_EQ(store.size(), 0u);
}

TEST(StoreTest, ObjectsWithoutResourceVersionAlwaysCountAsChanged) {
  Store<Item> store;
  EXPECT_TRUE(store.upsert(item("ns", "a", "")));
  EXPECT_TRUE(store.upsert(item("ns", "a", "")));
}

TEST(StoreTest, ListNamespaceMatchesWholeNamespaceOnly) {
  Store<Item> store;
  store.replace({item("a", "x", "1"), item("ab", "y", "1"), item("a", "z", "1"), item("b", "w", "1")}, "1");
  std::vector<std::string> names;
  for (const auto& i : store.list_namespace("a")) names.push_back(i->meta.name);
  EXPECT_THAT(names, ElementsAre("x", "z"));
  EXPECT_THAT(store.list_namespace("c"), IsEmpty());
  EXPECT_EQ(store.list().size(), 4u);
}

TEST(StoreTest, ClusterScopedObjectsAreKeyedByName) {
  Store<Item> store;
  store.upsert(item("", "node-1", "1"));
  EXPECT_NE(store.get("node-1"), nullptr);
}

TEST(StoreTest, SnapshotsOutliveReplace) {
  Store<Item> store;
  store.replace({item("ns", "a", "1", 42)}, "1");
  auto held = store.get("ns/a");
  auto listed = store.list();
  store.replace({}, "2");
  EXPECT_EQ(store.get("ns/a"), nullptr);
  EXPECT_EQ(held->value, 42);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]->value, 42);
}

TEST(StoreTest, UpdateIfUnchangedStoresAWriteOnlyOverTheVersionItWasBasedOn) {
  Store<Item> store;
  store.upsert(item("ns", "a", "5", 1));
  // The write was based on version 5 and the watch has not delivered anything newer yet.
  EXPECT_TRUE(store.update_if_unchanged(item("ns", "a", "6", 2), "5"));
  EXPECT_EQ(store.get("ns/a")->value, 2);
  // The watch then delivers the same version: nothing changed, no handler call needed.
  EXPECT_FALSE(store.apply(WatchEventType::kModified, item("ns", "a", "6", 2)));
  // A newer version already arrived (7): the store must not go back to the write's answer.
  store.upsert(item("ns", "a", "8", 3));
  EXPECT_FALSE(store.update_if_unchanged(item("ns", "a", "7", 4), "6"));
  EXPECT_EQ(store.get("ns/a")->value, 3);
  // Deleted meanwhile: not brought back.
  store.remove("ns/a");
  EXPECT_FALSE(store.update_if_unchanged(item("ns", "a", "9", 5), "8"));
  EXPECT_EQ(store.get("ns/a"), nullptr);
}

TEST(StoreTest, LaterDuplicateInReplaceWins) {
  Store<Item> store;
  store.replace({item("ns", "a", "1", 1), item("ns", "a", "2", 2)}, "2");
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.get("ns/a")->value, 2);
}

// The change log: each change of content moves the revision on and names its key; a reader
// that kept a revision learns exactly which keys to look at again.
TEST(StoreChangeLog, NamesEachChangedKeyOnceAndNothingThatDidNotChange) {
  Store<Item> store;
  const std::uint64_t start = store.revision();
  EXPECT_TRUE(store.changed_since(start).complete);
  EXPECT_THAT(store.changed_since(start).keys, IsEmpty());

  store.upsert(item("ns", "b", "1"));
  store.upsert(item("ns", "a", "1"));
  store.upsert(item("ns", "b", "2"));
  EXPECT_FALSE(store.upsert(item("ns", "a", "1")));  // the same version: not a change
  EXPECT_FALSE(store.remove("ns/absent"));
  EXPECT_FALSE(store.update_if_unchanged(item("ns", "a", "9"), "8"));  // based on another version
  EXPECT_FALSE(store.apply(WatchEventType::kBookmark, item("ns", "c", "3")));
  EXPECT_EQ(store.revision(), start + 3);

  ChangedKeys changed = store.changed_since(start);
  EXPECT_TRUE(changed.complete);
  EXPECT_EQ(changed.revision, start + 3);
  EXPECT_THAT(changed.keys, ElementsAre("ns/a", "ns/b"));
  // From the middle: only what came after.
  EXPECT_THAT(store.changed_since(start + 2).keys, ElementsAre("ns/b"));
  EXPECT_THAT(store.changed_since(start + 3).keys, IsEmpty());
  EXPECT_TRUE(store.changed_since(start + 3).complete);

  EXPECT_TRUE(store.update_if_unchanged(item("ns", "a", "2"), "1"));
  EXPECT_TRUE(store.remove("ns/b"));
  EXPECT_TRUE(store.apply(WatchEventType::kAdded, item("ns", "c", "3")));
  changed = store.changed_since(start + 3);
  EXPECT_EQ(changed.revision, start + 6);
  EXPECT_THAT(changed.keys, ElementsAre("ns/a", "ns/b", "ns/c"));
}

TEST(StoreChangeLog, ReplaceLogsEachKeyOfItsDiff) {
  Store<Item> store;
  store.replace({item("ns", "a", "1"), item("ns", "b", "1"), item("ns", "c", "1")}, "1");
  const std::uint64_t before = store.revision();
  // a unchanged, b changed, c removed, d added.
  store.replace({item("ns", "a", "1"), item("ns", "b", "2"), item("ns", "d", "1")}, "2");
  EXPECT_EQ(store.revision(), before + 3);
  ChangedKeys changed = store.changed_since(before);
  EXPECT_TRUE(changed.complete);
  EXPECT_THAT(changed.keys, ElementsAre("ns/b", "ns/c", "ns/d"));
  // A relist that changes nothing moves nothing.
  store.replace({item("ns", "a", "1"), item("ns", "b", "2"), item("ns", "d", "1")}, "3");
  EXPECT_EQ(store.revision(), before + 3);
}

TEST(StoreChangeLog, IsIncompleteOnceTheLogNoLongerReachesBack) {
  Store<Item> store(/*change_log_capacity=*/3);
  const std::uint64_t start = store.revision();
  store.upsert(item("ns", "a", "1"));
  store.upsert(item("ns", "b", "1"));
  store.upsert(item("ns", "c", "1"));
  EXPECT_TRUE(store.changed_since(start).complete);  // exactly three changes: still reaches back
  EXPECT_THAT(store.changed_since(start).keys, ElementsAre("ns/a", "ns/b", "ns/c"));
  store.upsert(item("ns", "a", "2"));
  ChangedKeys lost = store.changed_since(start);
  EXPECT_FALSE(lost.complete);
  EXPECT_THAT(lost.keys, IsEmpty());
  EXPECT_EQ(lost.revision, start + 4);  // where to start again after looking at everything
  EXPECT_THAT(store.changed_since(start + 1).keys, ElementsAre("ns/a", "ns/b", "ns/c"));
  // A revision this store never had.
  EXPECT_FALSE(store.changed_since(start + 5).complete);

  // A relist larger than the log keeps only its last keys, and the revision counts them all.
  const std::uint64_t before = store.revision();
  std::vector<std::shared_ptr<const Item>> relist;
  for (int i = 0; i < 10; ++i) relist.push_back(item("other", std::to_string(i), "1"));
  store.replace(relist, "9");  // a, b, c removed; ten added
  EXPECT_EQ(store.revision(), before + 13);
  EXPECT_FALSE(store.changed_since(before).complete);
  EXPECT_FALSE(store.changed_since(before + 9).complete);
  EXPECT_TRUE(store.changed_since(before + 10).complete);
  EXPECT_EQ(store.changed_since(before + 10).keys.size(), 3u);
}

TEST(StoreChangeLog, AnotherStoreNeverContinuesALog) {
  auto first = std::make_unique<Store<Item>>();
  first->upsert(item("ns", "a", "1"));
  const std::uint64_t seen = first->revision();
  first.reset();
  // Very likely at the same address: a reader that kept it must not take this log for the old.
  auto second = std::make_unique<Store<Item>>();
  for (int i = 0; i < 5; ++i) second->upsert(item("ns", "x", std::to_string(i)));
  EXPECT_FALSE(second->changed_since(seen).complete);
}

}  // namespace
}  // namespace berth::kube
