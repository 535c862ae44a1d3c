#include "kube/reflector.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube/cache_sync.h"
#include "support/fake_api_client.h"
#include "support/fake_clock.h"

namespace berth::kube {
namespace {

using namespace std::chrono_literals;
using berth::testing::FakeApiClient;
using berth::testing::FakeClock;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// A minimal typed view: metadata plus spec.value, which must be a string.
struct Widget {
  ObjectMeta meta;
  std::string value;
};

Result<Widget> parse_widget(const json& object) {
  auto meta = parse_object_meta(object);
  if (!meta) return std::unexpected(meta.error());
  const json* value = nullptr;
  if (auto spec = object.find("spec"); spec != object.end() && spec->is_object()) {
    if (auto v = spec->find("value"); v != spec->end()) value = &*v;
  }
  if (value == nullptr || !value->is_string()) return make_error(ErrorCode::kParse, "spec.value is not a string");
  return Widget{std::move(*meta), value->get<std::string>()};
}

json widget(const std::string& name, const std::string& rv, const std::string& value = "v") {
  return {{"apiVersion", "v1"},
          {"kind", "Widget"},
          {"metadata", {{"namespace", "ns"}, {"name", name}, {"uid", "uid-" + name}, {"resourceVersion", rv}}},
          {"spec", {{"value", value}}}};
}

ListPage page(std::vector<json> items, std::string rv, std::string continue_token = "") {
  return ListPage{std::move(items), std::move(rv), std::move(continue_token)};
}

WatchEvent event(WatchEventType type, json object) { return WatchEvent{type, std::move(object)}; }

WatchEvent bookmark(const std::string& rv) {
  return event(WatchEventType::kBookmark, {{"kind", "Widget"}, {"metadata", {{"resourceVersion", rv}}}});
}

WatchEvent error_event(int code, const std::string& reason) {
  return event(WatchEventType::kError,
               {{"kind", "Status"}, {"status", "Failure"}, {"code", code}, {"reason", reason}, {"message", "boom"}});
}

FakeApiClient::WatchSession blocking(std::vector<WatchEvent> events = {}) {
  FakeApiClient::WatchSession s;
  s.events = std::move(events);
  s.end = FakeApiClient::WatchEnd::kBlockUntilStop;
  return s;
}

FakeApiClient::WatchSession ending(std::vector<WatchEvent> events) {
  FakeApiClient::WatchSession s;
  s.events = std::move(events);
  s.end = FakeApiClient::WatchEnd::kClean;
  return s;
}

FakeApiClient::WatchSession failing(std::vector<WatchEvent> events, Error error) {
  FakeApiClient::WatchSession s;
  s.events = std::move(events);
  s.end = FakeApiClient::WatchEnd::kError;
  s.error = std::move(error);
  return s;
}

class ReflectorTest : public ::testing::Test {
 protected:
  ReflectorOptions options() {
    ReflectorOptions o;
    o.page_size = 2;
    o.min_watch_timeout = 10s;
    o.backoff = {.initial = 1s, .max = 8s, .factor = 2.0, .jitter = 0.0};
    o.healthy_period = 60s;
    o.seed = 42;
    return o;
  }

  void start() {
    reflector_ = std::make_unique<Reflector<Widget>>(
        api_, kServices, "ns", ReflectorSelectors{.label_selector = "app=db", .field_selector = ""}, store_, parse_widget, clock_,
        options(), [this](const std::string& key) {
          std::lock_guard lock(mu_);
          handled_.push_back(key);
        });
    thread_ = std::jthread([this](std::stop_token stop) { reflector_->run(stop); });
  }

  // Stops the reflector and waits for run() to return.
  void stop() {
    thread_.request_stop();
    thread_.join();
  }

  std::vector<std::string> take_handled() {
    std::lock_guard lock(mu_);
    return std::exchange(handled_, {});
  }

  std::string value_of(const std::string& key) {
    auto w = store_.get(key);
    return w ? w->value : "<absent>";
  }

  FakeClock clock_;
  FakeApiClient api_;
  Store<Widget> store_;
  std::mutex mu_;
  std::vector<std::string> handled_;  // guarded by mu_
  std::unique_ptr<Reflector<Widget>> reflector_;
  std::jthread thread_;  // last: stopped and joined before the members it uses go away
};

TEST_F(ReflectorTest, ListsAllPagesThenWatchesFromTheListResourceVersion) {
  api_.push_list(page({widget("a", "5"), widget("b", "6")}, "10", "cont-1"));
  api_.push_list(page({widget("c", "7")}, "10"));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(1);

  auto lists = api_.list_calls();
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].plural, "services");
  EXPECT_EQ(lists[0].ns, "ns");
  EXPECT_EQ(lists[0].options.limit, 2);
  EXPECT_EQ(lists[0].options.label_selector, "app=db");
  EXPECT_EQ(lists[0].options.continue_token, "");
  EXPECT_EQ(lists[0].options.resource_version, "");
  EXPECT_EQ(lists[1].options.continue_token, "cont-1");
  EXPECT_EQ(lists[1].options.limit, 2);

  EXPECT_THAT(store_.keys(), ElementsAre("ns/a", "ns/b", "ns/c"));
  EXPECT_TRUE(reflector_->has_synced());
  EXPECT_TRUE(store_.has_synced());
  EXPECT_EQ(reflector_->last_sync_resource_version(), "10");
  EXPECT_THAT(take_handled(), ElementsAre("ns/a", "ns/b", "ns/c"));

  auto watches = api_.watch_calls();
  ASSERT_EQ(watches.size(), 1u);
  EXPECT_EQ(watches[0].options.resource_version, "10");
  EXPECT_TRUE(watches[0].options.allow_bookmarks);
  EXPECT_EQ(watches[0].options.label_selector, "app=db");
  EXPECT_GE(watches[0].options.timeout_seconds, 10);
  EXPECT_LE(watches[0].options.timeout_seconds, 20);
}

TEST_F(ReflectorTest, MalformedListItemsAreSkipped) {
  json bad_value = widget("bad", "2");
  bad_value["spec"]["value"] = 17;
  json no_metadata = {{"kind", "Widget"}, {"spec", {{"value", "x"}}}};
  api_.push_list(page({widget("good", "1"), bad_value, no_metadata, "not an object"}, "10"));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(1);

  EXPECT_THAT(store_.keys(), ElementsAre("ns/good"));
  EXPECT_TRUE(reflector_->has_synced());
  EXPECT_EQ(reflector_->stats().skipped_objects, 3u);
}

TEST_F(ReflectorTest, WatchEventsUpdateTheStoreAndTellTheHandlerKeysThatChanged) {
  api_.push_list(page({widget("a", "5"), widget("b", "6")}, "10"));
  json malformed = widget("m", "15");
  malformed["spec"] = nullptr;
  api_.push_watch(blocking({
      event(WatchEventType::kAdded, widget("d", "11", "new")),
      event(WatchEventType::kModified, widget("a", "12", "changed")),
      event(WatchEventType::kDeleted, widget("b", "13")),
      event(WatchEventType::kModified, widget("a", "12", "changed")),  // same version: no change
      event(WatchEventType::kDeleted, widget("zz", "14")),             // unknown: no change
      event(WatchEventType::kAdded, malformed),                        // skipped
  }));
  start();
  api_.wait_for_watches(1);

  EXPECT_THAT(store_.keys(), ElementsAre("ns/a", "ns/d"));
  EXPECT_EQ(value_of("ns/a"), "changed");
  EXPECT_EQ(value_of("ns/d"), "new");
  EXPECT_THAT(take_handled(), ElementsAre("ns/a", "ns/b", "ns/d", "ns/a", "ns/b"));
  EXPECT_EQ(reflector_->last_resource_version(), "15");
  EXPECT_EQ(reflector_->last_sync_resource_version(), "10");
}

TEST_F(ReflectorTest, DeletionOfAnUnparsableObjectStillRemovesIt) {
  api_.push_list(page({widget("a", "5")}, "10"));
  json deleted = widget("a", "11");
  deleted.erase("spec");
  api_.push_watch(blocking({event(WatchEventType::kDeleted, deleted)}));
  start();
  api_.wait_for_watches(1);
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_THAT(take_handled(), ElementsAre("ns/a", "ns/a"));
}

TEST_F(ReflectorTest, DroppedWatchResumesFromTheLastResourceVersionAfterABackoff) {
  api_.push_list(page({widget("a", "5")}, "10"));
  api_.push_watch(failing({event(WatchEventType::kAdded, widget("b", "11"))},
                          Error{ErrorCode::kTransport, "connection reset", 0}));
  api_.push_watch(blocking({event(WatchEventType::kModified, widget("b", "12", "later"))}));
  start();
  api_.wait_for_watches(1);
  clock_.wait_for_sleepers(1);
  EXPECT_EQ(api_.watch_calls().size(), 1u);  // waiting out the backoff
  clock_.advance(1s);
  api_.wait_for_watches(2);

  auto watches = api_.watch_calls();
  ASSERT_EQ(watches.size(), 2u);
  EXPECT_EQ(watches[1].options.resource_version, "11");
  EXPECT_EQ(api_.list_calls().size(), 1u);  // no relist
  EXPECT_EQ(value_of("ns/b"), "later");
  EXPECT_THAT(take_handled(), ElementsAre("ns/a", "ns/b", "ns/b"));
  auto stats = reflector_->stats();
  EXPECT_EQ(stats.relists, 0u);
  EXPECT_EQ(stats.watch_restarts, 1u);
  EXPECT_EQ(stats.failures, 1u);
}

TEST_F(ReflectorTest, CleanlyEndedWatchResumesAtOnce) {
  api_.push_list(page({}, "10"));
  api_.push_watch(ending({event(WatchEventType::kAdded, widget("b", "11"))}));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(2);  // no clock advance needed: no backoff
  EXPECT_EQ(api_.watch_calls()[1].options.resource_version, "11");
  EXPECT_EQ(api_.list_calls().size(), 1u);
  EXPECT_EQ(reflector_->stats().failures, 0u);
}

TEST_F(ReflectorTest, VeryShortEmptyWatchBacksOff) {
  api_.push_list(page({}, "10"));
  api_.push_watch(ending({}));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(1);
  clock_.wait_for_sleepers(1);
  EXPECT_EQ(api_.watch_calls().size(), 1u);
  clock_.advance(1s);
  api_.wait_for_watches(2);
  EXPECT_EQ(api_.watch_calls()[1].options.resource_version, "10");
  EXPECT_EQ(reflector_->stats().failures, 1u);
}

TEST_F(ReflectorTest, BookmarkOnlyAdvancesTheResourceVersion) {
  api_.push_list(page({widget("a", "5")}, "10"));
  api_.push_watch(ending({bookmark("20")}));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(2);
  EXPECT_EQ(api_.watch_calls()[1].options.resource_version, "20");
  EXPECT_THAT(take_handled(), ElementsAre("ns/a"));
  EXPECT_THAT(store_.keys(), ElementsAre("ns/a"));
}

TEST_F(ReflectorTest, ErrorEvent410RelistsAndTellsTheHandlerWhatChanged) {
  api_.push_list(page({widget("a", "5"), widget("b", "6"), widget("c", "7")}, "10"));
  api_.push_watch(blocking({error_event(410, "Expired")}));
  // The relist: a changed, b unchanged, c gone, d new.
  api_.push_list(page({widget("a", "30", "changed"), widget("b", "6")}, "40", "more"));
  api_.push_list(page({widget("d", "35")}, "40"));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(2);

  auto lists = api_.list_calls();
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[2].options.continue_token, "more");
  EXPECT_EQ(lists[1].options.resource_version, "");  // a fresh, consistent LIST
  EXPECT_EQ(lists[1].options.continue_token, "");
  EXPECT_THAT(store_.keys(), ElementsAre("ns/a", "ns/b", "ns/d"));
  EXPECT_EQ(value_of("ns/a"), "changed");
  EXPECT_THAT(take_handled(), ElementsAre("ns/a", "ns/b", "ns/c",  // first list
                                          "ns/a", "ns/c", "ns/d"));
  EXPECT_EQ(api_.watch_calls()[1].options.resource_version, "40");
  EXPECT_EQ(reflector_->last_sync_resource_version(), "40");
  auto stats = reflector_->stats();
  EXPECT_EQ(stats.lists, 2u);
  EXPECT_EQ(stats.relists, 1u);
  EXPECT_EQ(stats.failures, 0u);
}

TEST_F(ReflectorTest, GoneErrorFromWatchRelists) {
  api_.push_list(page({widget("a", "5")}, "10"));
  api_.push_watch(failing({}, Error{ErrorCode::kGone, "too old resource version", 410}));
  api_.push_list(page({}, "50"));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(2);
  EXPECT_EQ(api_.list_calls().size(), 2u);
  EXPECT_EQ(store_.size(), 0u);
  EXPECT_THAT(take_handled(), ElementsAre("ns/a", "ns/a"));
  EXPECT_EQ(api_.watch_calls()[1].options.resource_version, "50");
}

TEST_F(ReflectorTest, RepeatedGoneRightAfterAListBacksOff) {
  api_.push_list(page({}, "10"));
  api_.push_watch(blocking({error_event(410, "Expired")}));
  api_.push_list(page({}, "20"));
  api_.push_watch(blocking({error_event(410, "Expired")}));
  api_.push_list(page({}, "30"));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(2);
  clock_.wait_for_sleepers(1);
  EXPECT_EQ(api_.list_calls().size(), 2u);
  clock_.advance(1s);
  api_.wait_for_watches(3);
  EXPECT_EQ(api_.list_calls().size(), 3u);
  EXPECT_EQ(api_.watch_calls()[2].options.resource_version, "30");
}

TEST_F(ReflectorTest, OtherErrorEventBacksOffAndRewatchesWithoutRelist) {
  api_.push_list(page({}, "10"));
  api_.push_watch(blocking({bookmark("12"), error_event(500, "InternalError")}));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(1);
  clock_.wait_for_sleepers(1);
  EXPECT_EQ(api_.watch_calls().size(), 1u);
  clock_.advance(1s);
  api_.wait_for_watches(2);
  EXPECT_EQ(api_.watch_calls()[1].options.resource_version, "12");
  EXPECT_EQ(api_.list_calls().size(), 1u);
}

TEST_F(ReflectorTest, ExpiredContinueTokenRestartsTheList) {
  api_.push_list(page({widget("a", "5"), widget("old", "6")}, "10", "cont-1"));
  api_.push_list(make_error(ErrorCode::kGone, "continue token expired", 410));
  api_.push_list(page({widget("a", "5"), widget("b", "8")}, "20", "cont-2"));
  api_.push_list(page({widget("c", "9")}, "20"));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(1);

  auto lists = api_.list_calls();
  ASSERT_EQ(lists.size(), 4u);
  EXPECT_EQ(lists[1].options.continue_token, "cont-1");
  EXPECT_EQ(lists[2].options.continue_token, "");
  EXPECT_EQ(lists[3].options.continue_token, "cont-2");
  // Nothing of the abandoned first attempt survives.
  EXPECT_THAT(store_.keys(), ElementsAre("ns/a", "ns/b", "ns/c"));
  EXPECT_EQ(api_.watch_calls()[0].options.resource_version, "20");
  EXPECT_EQ(reflector_->stats().list_restarts, 1u);
  EXPECT_EQ(reflector_->stats().failures, 0u);
}

TEST_F(ReflectorTest, ListFailuresBackOffExponentiallyOnTheClock) {
  api_.push_list(make_error(ErrorCode::kServerError, "boom", 500));
  api_.push_list(make_error(ErrorCode::kServerError, "boom", 500));
  api_.push_list(page({widget("a", "5")}, "10"));
  api_.push_watch(blocking());
  start();

  api_.wait_for_lists(1);
  clock_.wait_for_sleepers(1);
  EXPECT_FALSE(reflector_->has_synced());
  clock_.advance(999ms);
  EXPECT_EQ(api_.list_calls().size(), 1u);
  clock_.advance(1ms);

  api_.wait_for_lists(2);
  clock_.wait_for_sleepers(1);
  clock_.advance(1999ms);  // the second delay is twice the first
  EXPECT_EQ(api_.list_calls().size(), 2u);
  clock_.advance(1ms);

  api_.wait_for_watches(1);
  EXPECT_EQ(api_.list_calls().size(), 3u);
  EXPECT_TRUE(reflector_->has_synced());
  EXPECT_EQ(reflector_->stats().failures, 2u);
}

TEST_F(ReflectorTest, BackoffStartsAgainAfterAHealthyPeriod) {
  api_.push_list(page({}, "10"));
  const Error reset{ErrorCode::kTransport, "reset", 0};
  api_.push_watch(failing({}, reset));  // backoff 1 s
  api_.push_watch(failing({}, reset));  // backoff 2 s
  api_.push_watch(failing({}, reset));  // backoff 4 s
  // This one stays open for longer than the healthy period before it fails: back to 1 s.
  auto healthy = failing({event(WatchEventType::kAdded, widget("a", "11"))}, reset);
  healthy.before_end = [this] { clock_.advance(61s); };
  api_.push_watch(std::move(healthy));
  api_.push_watch(blocking());
  start();

  std::size_t watches = 1;
  for (auto delay : {1s, 2s, 4s}) {
    api_.wait_for_watches(watches);
    clock_.wait_for_sleepers(1);
    clock_.advance(delay - 1ms);
    EXPECT_EQ(api_.watch_calls().size(), watches) << "retried before " << delay.count() << "s";
    clock_.advance(1ms);
    ++watches;
  }
  api_.wait_for_watches(4);
  clock_.wait_for_sleepers(1);
  clock_.advance(999ms);
  EXPECT_EQ(api_.watch_calls().size(), 4u);
  clock_.advance(1ms);
  api_.wait_for_watches(5);
  EXPECT_EQ(api_.watch_calls()[4].options.resource_version, "11");
}

TEST_F(ReflectorTest, StopEndsABlockedWatchPromptly) {
  api_.push_list(page({}, "10"));
  api_.push_watch(blocking());
  start();
  api_.wait_for_watches(1);
  stop();
  EXPECT_EQ(api_.watch_calls().size(), 1u);
}

TEST_F(ReflectorTest, StopEndsABackoffPromptly) {
  api_.push_list(make_error(ErrorCode::kServerError, "boom", 500));
  start();
  api_.wait_for_lists(1);
  clock_.wait_for_sleepers(1);
  stop();
  EXPECT_EQ(api_.list_calls().size(), 1u);
  EXPECT_FALSE(reflector_->has_synced());
}

TEST(ReflectorCacheSyncTest, ReturnsAtOnceWhenEverythingIsSynced) {
  FakeClock clock;
  std::stop_source stop;
  EXPECT_TRUE(wait_for_cache_sync({[] { return true; }, [] { return true; }}, stop.get_token(), clock, 1s));
}

TEST(ReflectorCacheSyncTest, WaitsUntilEveryCacheHasSynced) {
  FakeClock clock;
  std::stop_source stop;
  std::atomic<bool> second{false};
  std::atomic<int> result{-1};
  std::jthread waiter([&] {
    result = wait_for_cache_sync({[] { return true; }, [&] { return second.load(); }}, stop.get_token(), clock,
                                 10s, 100ms);
  });
  clock.wait_for_sleepers(1);
  EXPECT_EQ(result.load(), -1);
  second = true;
  clock.advance(100ms);
  waiter.join();
  EXPECT_EQ(result.load(), 1);
}

TEST(ReflectorCacheSyncTest, GivesUpAtTheTimeout) {
  FakeClock clock;
  std::stop_source stop;
  std::atomic<int> result{-1};
  std::jthread waiter([&] {
    result = wait_for_cache_sync({[] { return false; }}, stop.get_token(), clock, 1s, 400ms);
  });
  clock.wait_for_sleepers(1);
  clock.advance(1s);
  waiter.join();
  EXPECT_EQ(result.load(), 0);
}

TEST(ReflectorCacheSyncTest, StopsWhenAsked) {
  FakeClock clock;
  std::stop_source stop;
  std::atomic<int> result{-1};
  std::jthread waiter([&] { result = wait_for_cache_sync({[] { return false; }}, stop.get_token(), clock, 1h); });
  clock.wait_for_sleepers(1);
  stop.request_stop();
  waiter.join();
  EXPECT_EQ(result.load(), 0);
}

}  // namespace
}  // namespace berth::kube
