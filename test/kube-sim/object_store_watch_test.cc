// Watches: initial ADDED, history replay, 410 after compaction, selector transitions,
// bookmarks, closing, slow watchers, and ordering under concurrent writers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kube-sim/object_store.h"
#include "object_fixtures.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using kube::WatchEventType;

// Generous bound for events that are already queued or about to be: tests never wait it out
// unless they fail.
constexpr milliseconds kBound(5000);

std::string name_of(const kube::WatchEvent& ev) { return ev.object["metadata"].value("name", ""); }

WatchRequest request(std::string version = "", std::string labels = "", std::string ns = "") {
  WatchRequest r;
  r.resource_version = std::move(version);
  r.label_selector = std::move(labels);
  r.ns = std::move(ns);
  return r;
}

kube::WatchEvent next_event(Watch& w) {
  auto ev = w.next(kBound);
  EXPECT_TRUE(ev.has_value()) << "no event within the bound";
  return ev.value_or(kube::WatchEvent{WatchEventType::kError, json::object()});
}

void expect_nothing_queued(Watch& w) {
  auto ev = w.next(milliseconds(0));
  EXPECT_FALSE(ev.has_value()) << "unexpected event " << ev->object.dump();
}

TEST(ObjectStoreWatchTest, FromZeroStartsWithCurrentObjectsThenFollows) {
  ObjectStore store;
  ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("b")).has_value());
  ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("a")).has_value());
  auto w = store.watch(kube::kServices, request("0"));
  ASSERT_TRUE(w.has_value()) << w.error().message;
  Watch& watch = **w;
  auto e1 = next_event(watch);
  auto e2 = next_event(watch);
  EXPECT_EQ(e1.type, WatchEventType::kAdded);
  EXPECT_EQ(e2.type, WatchEventType::kAdded);
  EXPECT_EQ(name_of(e1), "a");
  EXPECT_EQ(name_of(e2), "b");
  expect_nothing_queued(watch);

  json c = *store.create(kube::kServices, "default", labeled_service("c"));
  auto added = next_event(watch);
  EXPECT_EQ(added.type, WatchEventType::kAdded);
  EXPECT_EQ(added.object, c);

  json changed = c;
  changed["metadata"]["labels"] = {{"x", "y"}};
  json updated = *store.update(kube::kServices, "default", "c", changed);
  auto modified = next_event(watch);
  EXPECT_EQ(modified.type, WatchEventType::kModified);
  EXPECT_EQ(modified.object, updated);

  json removed = *store.remove(kube::kServices, "default", "c");
  auto deleted = next_event(watch);
  EXPECT_EQ(deleted.type, WatchEventType::kDeleted);
  EXPECT_EQ(deleted.object, removed);
  EXPECT_GT(rv_of(deleted.object), rv_of(updated));

  // Other resources do not show up.
  ASSERT_TRUE(store.create(kube::kLeases, "default", json{{"metadata", {{"name", "l"}}}}).has_value());
  expect_nothing_queued(watch);
  EXPECT_FALSE(watch.closed());
}

TEST(ObjectStoreWatchTest, ReplaysHistoryAfterVersion) {
  ObjectStore store;
  json a = *store.create(kube::kServices, "default", labeled_service("a"));
  json b = *store.create(kube::kServices, "default", labeled_service("b"));
  ASSERT_TRUE(store.remove(kube::kServices, "default", "a").has_value());
  auto w = store.watch(kube::kServices, request(std::to_string(rv_of(a))));
  ASSERT_TRUE(w.has_value()) << w.error().message;
  auto e1 = next_event(**w);
  auto e2 = next_event(**w);
  EXPECT_EQ(e1.type, WatchEventType::kAdded);
  EXPECT_EQ(name_of(e1), "b");
  EXPECT_EQ(e2.type, WatchEventType::kDeleted);
  EXPECT_EQ(name_of(e2), "a");
  expect_nothing_queued(**w);

  // From the current version: nothing to replay.
  auto now = store.watch(kube::kServices, request(std::to_string(store.resource_version())));
  ASSERT_TRUE(now.has_value());
  expect_nothing_queued(**now);
}

TEST(ObjectStoreWatchTest, TooOldVersionIsGone) {
  StoreOptions options;
  options.history_limit = 3;
  ObjectStore store(options);
  std::uint64_t start = store.resource_version();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("s" + std::to_string(i))).has_value());
  auto old = store.watch(kube::kServices, request(std::to_string(start)));
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code, ErrorCode::kGone);
  EXPECT_EQ(old.error().http_status, 410);
  EXPECT_THAT(old.error().message, ::testing::HasSubstr("too old resource version"));
  // The oldest version still covered by the kept history works.
  auto kept = store.watch(kube::kServices, request(std::to_string(store.resource_version() - 3)));
  ASSERT_TRUE(kept.has_value()) << kept.error().message;
  for (int i = 2; i < 5; ++i) EXPECT_EQ(name_of(next_event(**kept)), "s" + std::to_string(i));

  auto bad = store.watch(kube::kServices, request("abc"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().http_status, 400);
}

TEST(ObjectStoreWatchTest, CompactMakesEveryEarlierVersionGoneButKeepsOpenWatches) {
  ObjectStore store;
  auto open = store.watch(kube::kServices, request(std::to_string(store.resource_version())));
  ASSERT_TRUE(open.has_value());
  json a = *store.create(kube::kServices, "default", labeled_service("a"));
  std::uint64_t version = store.resource_version();
  store.compact();
  EXPECT_EQ(store.resource_version(), version);
  auto old = store.watch(kube::kServices, request(std::to_string(version - 1)));
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code, ErrorCode::kGone);
  EXPECT_TRUE(store.watch(kube::kServices, request(std::to_string(version))).has_value());
  EXPECT_TRUE(store.watch(kube::kServices, request("0")).has_value());
  // The open watch still has its event and still follows.
  EXPECT_EQ(next_event(**open).object, a);
  ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("b")).has_value());
  EXPECT_EQ(name_of(next_event(**open)), "b");
}

// Each write and what a watch on app=db sees of it.
TEST(ObjectStoreWatchTest, SelectorTransitionsBecomeAddedAndDeleted) {
  ObjectStore store;
  std::uint64_t start = store.resource_version();
  auto live = store.watch(kube::kServices, request("", "app=db"));
  ASSERT_TRUE(live.has_value());

  json s = *store.create(kube::kServices, "default", labeled_service("s", {{"app", "web"}}));  // not selected
  s["metadata"]["labels"]["app"] = "db";
  s = *store.update(kube::kServices, "default", "s", s);  // moves in: ADDED
  s["metadata"]["labels"]["tier"] = "1";
  s = *store.update(kube::kServices, "default", "s", s);  // stays in: MODIFIED
  json before_leaving = s;
  s["metadata"]["labels"]["app"] = "web";
  s = *store.update(kube::kServices, "default", "s", s);  // moves out: DELETED (previous content)
  std::uint64_t left_at = rv_of(s);
  ASSERT_TRUE(store.remove(kube::kServices, "default", "s").has_value());  // not selected any more

  auto check = [&](Watch& w) {
    auto e1 = next_event(w);
    EXPECT_EQ(e1.type, WatchEventType::kAdded);
    EXPECT_EQ(e1.object["metadata"]["labels"]["app"], "db");
    auto e2 = next_event(w);
    EXPECT_EQ(e2.type, WatchEventType::kModified);
    EXPECT_EQ(e2.object["metadata"]["labels"]["tier"], "1");
    auto e3 = next_event(w);
    EXPECT_EQ(e3.type, WatchEventType::kDeleted);
    EXPECT_EQ(e3.object["metadata"]["labels"]["app"], "db");
    EXPECT_EQ(rv_of(e3.object), left_at);
    expect_nothing_queued(w);
  };
  check(**live);
  // Replay applies the same rules.
  auto replay = store.watch(kube::kServices, request(std::to_string(start), "app=db"));
  ASSERT_TRUE(replay.has_value());
  check(**replay);
}

TEST(ObjectStoreWatchTest, NamespaceAndFieldSelectorsFilter) {
  ObjectStore store;
  ASSERT_TRUE(store.create(kube::kNamespaces, "", json{{"metadata", {{"name", "team"}}}}).has_value());
  auto in_team = store.watch(kube::kServices, request("", "", "team"));
  WatchRequest by_name = request();
  by_name.field_selector = "metadata.name=b";
  auto named_b = store.watch(kube::kServices, by_name);
  ASSERT_TRUE(in_team.has_value());
  ASSERT_TRUE(named_b.has_value());
  ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("a")).has_value());
  ASSERT_TRUE(store.create(kube::kServices, "team", labeled_service("a")).has_value());
  ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("b")).has_value());
  auto e = next_event(**in_team);
  EXPECT_EQ(e.object["metadata"]["namespace"], "team");
  expect_nothing_queued(**in_team);
  auto f = next_event(**named_b);
  EXPECT_EQ(name_of(f), "b");
  expect_nothing_queued(**named_b);

  WatchRequest bad = request();
  bad.field_selector = "spec.type=ClusterIP";
  auto rejected = store.watch(kube::kServices, bad);
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().http_status, 400);
  auto bad_labels = store.watch(kube::kServices, request("", "app in"));
  ASSERT_FALSE(bad_labels.has_value());
  EXPECT_EQ(bad_labels.error().http_status, 400);
}

TEST(ObjectStoreWatchTest, BookmarksCarryTheCurrentVersionWhenIdle) {
  ObjectStore store;
  WatchRequest r = request(std::to_string(store.resource_version()));
  r.allow_bookmarks = true;
  r.bookmark_interval = milliseconds(1);
  auto w = store.watch(kube::kServices, r);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("a")).has_value());
  // Writes to other resources move the version too.
  ASSERT_TRUE(store.create(kube::kLeases, "default", json{{"metadata", {{"name", "l"}}}}).has_value());
  auto added = next_event(**w);
  EXPECT_EQ(added.type, WatchEventType::kAdded);
  auto bookmark = next_event(**w);
  ASSERT_EQ(bookmark.type, WatchEventType::kBookmark);
  EXPECT_EQ(bookmark.object["kind"], "Service");
  EXPECT_EQ(bookmark.object["apiVersion"], "v1");
  EXPECT_EQ(bookmark.object["metadata"]["resourceVersion"], std::to_string(store.resource_version()));

  // Without allowWatchBookmarks an idle watch just times out.
  auto quiet = store.watch(kube::kServices, request(std::to_string(store.resource_version())));
  ASSERT_TRUE(quiet.has_value());
  EXPECT_FALSE((*quiet)->next(milliseconds(5)).has_value());
  EXPECT_FALSE((*quiet)->closed());
}

TEST(ObjectStoreWatchTest, DropAndCloseEndWatches) {
  ObjectStore store;
  auto a = store.watch(kube::kServices, request());
  auto b = store.watch(kube::kServices, request());
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  (*a)->close();
  EXPECT_TRUE((*a)->closed());
  EXPECT_FALSE((*a)->next(kBound).has_value());  // returns at once: closed
  EXPECT_FALSE((*b)->closed());

  // A reader blocked in next() wakes up when the watch is dropped.
  std::atomic<bool> woke{false};
  std::jthread reader([&] {
    auto ev = (*b)->next(std::chrono::milliseconds(60000));
    woke = !ev.has_value() && (*b)->closed();
  });
  store.drop_watches();
  reader.join();
  EXPECT_TRUE(woke);
  // Writes after the drop do not reach the dropped watch.
  ASSERT_TRUE(store.create(kube::kServices, "default", labeled_service("x")).has_value());
  EXPECT_FALSE((*b)->next(milliseconds(0)).has_value());
}

TEST(ObjectStoreWatchTest, SlowWatcherIsClosedInsteadOfBlockingWriters) {
  ObjectStore store;
  auto slow = store.watch(kube::kLeases, request(std::to_string(store.resource_version())));
  ASSERT_TRUE(slow.has_value());
  json lease = *store.create(kube::kLeases, "default", json{{"metadata", {{"name", "l"}}}, {"spec", {{"leaseTransitions", 0}}}});
  // Far more writes than a watch queues; none of them waits for the reader.
  for (int i = 1; i <= 10050; ++i) {
    lease["metadata"].erase("resourceVersion");
    lease["spec"]["leaseTransitions"] = i;
    ASSERT_TRUE(store.update(kube::kLeases, "default", "l", lease).has_value());
  }
  EXPECT_TRUE((*slow)->closed());
}

TEST(ObjectStoreWatchTest, ManyWatchesAtOnce) {
  ObjectStore store;
  std::vector<std::shared_ptr<Watch>> watches;
  for (int i = 0; i < 300; ++i) {
    auto w = store.watch(kube::kServices, request(std::to_string(store.resource_version())));
    ASSERT_TRUE(w.has_value());
    watches.push_back(*w);
  }
  json a = *store.create(kube::kServices, "default", labeled_service("a"));
  for (auto& w : watches) EXPECT_EQ(next_event(*w).object, a);
}

// Writers on several threads, watchers reading concurrently: every watcher sees every write
// once, in strictly increasing resourceVersion order.
TEST(ObjectStoreWatchTest, ConcurrentWritersAndWatchersSeeOneOrder) {
  ObjectStore store;
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 150;
  constexpr int kWatchers = 3;
  std::uint64_t start = store.resource_version();
  std::vector<std::shared_ptr<Watch>> watches;
  for (int i = 0; i < kWatchers; ++i) {
    auto w = store.watch(kube::kServices, request(std::to_string(start)));
    ASSERT_TRUE(w.has_value());
    watches.push_back(*w);
  }
  std::vector<std::vector<std::uint64_t>> seen(kWatchers);
  {
    std::vector<std::jthread> readers;
    for (int i = 0; i < kWatchers; ++i) {
      readers.emplace_back([&, i] {
        // Each writer creates, updates and deletes its objects: 3 events per object.
        while (seen[i].size() < kWriters * kPerWriter * 3) {
          auto ev = watches[i]->next(kBound);
          if (!ev) break;
          seen[i].push_back(rv_of(ev->object));
        }
      });
    }
    std::vector<std::jthread> writers;
    for (int t = 0; t < kWriters; ++t) {
      writers.emplace_back([&store, t] {
        for (int i = 0; i < kPerWriter; ++i) {
          std::string name = "w" + std::to_string(t) + "-" + std::to_string(i);
          auto created = store.create(kube::kServices, "default", labeled_service(name));
          if (!created) continue;
          json changed = *created;
          changed["metadata"]["labels"] = {{"n", std::to_string(i)}};
          (void)store.update(kube::kServices, "default", name, changed);
          (void)store.remove(kube::kServices, "default", name);
        }
      });
    }
  }
  std::uint64_t end = store.resource_version();
  ASSERT_EQ(end - start, static_cast<std::uint64_t>(kWriters * kPerWriter * 3));
  for (int i = 0; i < kWatchers; ++i) {
    ASSERT_EQ(seen[i].size(), static_cast<std::size_t>(kWriters * kPerWriter * 3)) << "watcher " << i;
    for (std::size_t k = 0; k < seen[i].size(); ++k) {
      // Nothing missing, nothing repeated: exactly start+1 .. end.
      ASSERT_EQ(seen[i][k], start + 1 + k) << "watcher " << i << " event " << k;
    }
  }
}

}  // namespace
}  // namespace berth::kubesim
