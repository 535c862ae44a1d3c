// RestClient over CurlTransport against a scripted HTTP server on 127.0.0.1.
#include "kube/rest_client.h"

#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube/annotation_patch.h"
#include "kube/curl_transport.h"
#include "kube/instant_clock.h"
#include "support/temp_dir.h"
#include "support/scripted_http_server.h"
#include "support/status_body.h"

namespace berth::kube {
namespace {

using berth::testing::failure_status_body;
using berth::testing::InstantClock;
using berth::testing::ScriptedHttpServer;
using berth::testing::ScriptedResponse;
using berth::testing::TempDir;
using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const std::string kServiceBody = R"({"kind":"Service","metadata":{"name":"db","namespace":"default","resourceVersion":"5"}})";

RetryPolicy fast_policy(int attempts = 4) {
  RetryPolicy p;
  p.max_attempts = attempts;
  p.backoff = {.initial = 10ms, .max = 80ms, .factor = 2.0, .jitter = 0.0};
  p.max_retry_after = 2s;
  p.request_timeout = 10s;
  return p;
}

class RestClientTest : public ::testing::Test {
 protected:
  explicit RestClientTest(RetryPolicy policy = fast_policy()) : policy_(policy) {}

  RestClient& client() {
    if (!client_) {
      KubeConfig config;
      config.server = server_.url();
      client_ = std::make_unique<RestClient>(config, transport_, *tokens_, limiter_, clock_, policy_);
    }
    return *client_;
  }

  ScriptedHttpServer server_;
  InstantClock clock_;
  CurlTransport transport_{CurlTransportOptions{}};
  std::unique_ptr<TokenSource> tokens_ = std::make_unique<TokenSource>("tok-1");
  RequestRateLimiter limiter_{0, 1, clock_};
  RetryPolicy policy_;
  std::unique_ptr<RestClient> client_;
};

TEST_F(RestClientTest, GetSendsAuthAcceptAndUserAgent) {
  ASSERT_TRUE(server_.ok());
  server_.enqueue(ScriptedResponse::with_body(200, kServiceBody));
  auto doc = client().get(kServices, "default", "db");
  ASSERT_TRUE(doc) << doc.error().describe();
  EXPECT_EQ((*doc)["metadata"]["resourceVersion"], "5");
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/api/v1/namespaces/default/services/db");
  EXPECT_EQ(reqs[0].header("Authorization"), "Bearer tok-1");
  EXPECT_EQ(reqs[0].header("Accept"), "application/json");
  EXPECT_THAT(reqs[0].header("User-Agent"), HasSubstr("berth/"));
}

TEST_F(RestClientTest, ConnectionIsKeptAlive) {
  server_.enqueue(ScriptedResponse::with_body(200, kServiceBody));
  server_.enqueue(ScriptedResponse::with_body(200, kServiceBody));
  ASSERT_TRUE(client().get(kServices, "default", "db"));
  ASSERT_TRUE(client().get(kServices, "default", "db"));
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].remote_port, reqs[1].remote_port);
}

TEST_F(RestClientTest, TooManyRequestsHonoursRetryAfter) {
  server_.enqueue(ScriptedResponse::with_body(429, failure_status_body(429, "TooManyRequests", "slow down")).header("Retry-After", "1"));
  server_.enqueue(ScriptedResponse::with_body(200, kServiceBody));
  auto doc = client().get(kServices, "default", "db");
  ASSERT_TRUE(doc) << doc.error().describe();
  EXPECT_EQ(server_.requests().size(), 2u);
  EXPECT_EQ(clock_.sleeps(), std::vector<Clock::duration>{1s});
}

TEST_F(RestClientTest, RetryAfterIsCapped) {
  server_.enqueue(ScriptedResponse::with_body(429).header("Retry-After", "3600"));
  server_.enqueue(ScriptedResponse::with_body(200, kServiceBody));
  ASSERT_TRUE(client().get(kServices, "default", "db"));
  EXPECT_EQ(clock_.sleeps(), std::vector<Clock::duration>{2s});
}

TEST_F(RestClientTest, ServiceUnavailableStormThenSuccessBacksOffExponentially) {
  for (int i = 0; i < 3; ++i) server_.enqueue(ScriptedResponse::with_body(503, "upstream down"));
  server_.enqueue(ScriptedResponse::with_body(200, kServiceBody));
  auto doc = client().get(kServices, "default", "db");
  ASSERT_TRUE(doc) << doc.error().describe();
  EXPECT_EQ(server_.requests().size(), 4u);
  EXPECT_EQ(clock_.sleeps(), (std::vector<Clock::duration>{10ms, 20ms, 40ms}));
  // Each attempt counts under its own code: the storm shows in the metrics though it succeeded.
  EXPECT_EQ(client().responses().snapshot(), (std::map<std::string, std::uint64_t>{{"200", 1}, {"503", 3}}));
}

TEST_F(RestClientTest, GivesUpAfterMaxAttempts) {
  server_.set_handler([](const auto&) { return ScriptedResponse::with_body(500, failure_status_body(500, "InternalError", "boom")); });
  auto doc = client().get(kServices, "default", "db");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, ErrorCode::kServerError);
  EXPECT_EQ(doc.error().message, "boom");
  EXPECT_EQ(doc.error().http_status, 500);
  EXPECT_EQ(server_.requests().size(), 4u);
}

TEST_F(RestClientTest, PostIsNotRetriedAfter500ButIsAfter503) {
  server_.enqueue(ScriptedResponse::with_body(500, failure_status_body(500, "InternalError", "maybe created")));
  auto first = client().create(kEvents, "default", json{{"metadata", {{"name", "e"}}}});
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, ErrorCode::kServerError);
  EXPECT_EQ(server_.requests().size(), 1u);

  server_.enqueue(ScriptedResponse::with_body(503));
  server_.enqueue(ScriptedResponse::with_body(201, R"({"metadata":{"name":"e"}})"));
  auto second = client().create(kEvents, "default", json{{"metadata", {{"name", "e"}}}});
  ASSERT_TRUE(second) << second.error().describe();
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].method, "POST");
  EXPECT_EQ(reqs[2].path, "/api/v1/namespaces/default/events");
  EXPECT_EQ(reqs[2].header("Content-Type"), "application/json");
  EXPECT_EQ(json::parse(reqs[2].body)["metadata"]["name"], "e");
}

TEST_F(RestClientTest, ConflictAndAlreadyExistsAreDistinguished) {
  server_.enqueue(ScriptedResponse::with_body(409, failure_status_body(409, "AlreadyExists", "leases \"l\" already exists")));
  server_.enqueue(ScriptedResponse::with_body(409, failure_status_body(409, "Conflict", "the object has been modified")));
  server_.enqueue(ScriptedResponse::with_body(404, failure_status_body(404, "NotFound", "services \"x\" not found")));
  server_.enqueue(ScriptedResponse::with_body(422, failure_status_body(422, "Invalid", "spec.ports: Required value")));
  auto created = client().create(kLeases, "ns", json{{"metadata", {{"name", "l"}}}});
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kAlreadyExists);
  auto updated = client().update(kLeases, "ns", "l", json{{"metadata", {{"name", "l"}, {"resourceVersion", "1"}}}});
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::kConflict);
  EXPECT_EQ(updated.error().message, "the object has been modified");
  auto missing = client().remove(kServices, "default", "x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto invalid = client().update(kServices, "default", "x", json::object());
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalid);
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[1].method, "PUT");
  EXPECT_EQ(reqs[1].path, "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l");
  EXPECT_EQ(reqs[2].method, "DELETE");
}

TEST_F(RestClientTest, UnauthorizedReReadsTheTokenOnceAndRetries) {
  TempDir dir;
  auto file = dir.write("token", "old-1");
  auto mtime = std::filesystem::last_write_time(file);
  tokens_ = std::make_unique<TokenSource>(file, clock_, std::chrono::hours(1));
  server_.set_handler([](const berth::testing::RecordedRequest& r) {
    if (r.header("Authorization") != "Bearer new-1") {
      return ScriptedResponse::with_body(401, failure_status_body(401, "Unauthorized", "Unauthorized"));
    }
    return ScriptedResponse::with_body(200, kServiceBody);
  });
  ASSERT_TRUE(tokens_->token());  // the old token is cached
  dir.write("token", "new-1");
  std::filesystem::last_write_time(file, mtime);  // invisible to the stat check
  auto doc = client().get(kServices, "default", "db");
  ASSERT_TRUE(doc) << doc.error().describe();
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].header("Authorization"), "Bearer old-1");
  EXPECT_EQ(reqs[1].header("Authorization"), "Bearer new-1");
  EXPECT_TRUE(clock_.sleeps().empty());

  // A token that is still refused after the re-read is an error, not a loop.
  dir.write("token", "bad-1");
  auto refused = client().get(kServices, "default", "db");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(server_.requests().size(), 4u);
  EXPECT_THAT(refused.error().describe(), ::testing::Not(HasSubstr("bad-1")));
}

TEST_F(RestClientTest, ListBuildsAnEscapedQueryAndReadsThePage) {
  server_.enqueue(ScriptedResponse::with_body(
      200, R"({"kind":"ServiceList","metadata":{"resourceVersion":"100","continue":"next+page"},
               "items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]})"));
  ListOptions options{.label_selector = "app in (a,b),tier!=x",
                      .field_selector = "metadata.name=db",
                      .limit = 500,
                      .continue_token = "abc/=",
                      .resource_version = ""};
  auto page = client().list(kServices, "", options);
  ASSERT_TRUE(page) << page.error().describe();
  EXPECT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->resource_version, "100");
  EXPECT_EQ(page->continue_token, "next+page");
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target,
            "/api/v1/services?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Dx&fieldSelector=metadata.name%3Ddb"
            "&limit=500&continue=abc%2F%3D");
}

TEST_F(RestClientTest, ListRejectsAnswersThatAreNotLists) {
  server_.enqueue(ScriptedResponse::with_body(200, R"({"items":"nope"})"));
  server_.enqueue(ScriptedResponse::with_body(200, "<html>"));
  auto bad_items = client().list(kServices, "ns", {});
  ASSERT_FALSE(bad_items);
  EXPECT_EQ(bad_items.error().code, ErrorCode::kParse);
  auto not_json = client().list(kServices, "ns", {});
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().code, ErrorCode::kParse);
}

TEST_F(RestClientTest, PatchUsesTheContentTypeOfItsKind) {
  server_.enqueue(ScriptedResponse::with_body(200, kServiceBody));
  server_.enqueue(ScriptedResponse::with_body(200, kServiceBody));
  ASSERT_TRUE(patch_annotations(client(), "default", "db", "5", {{"haproxy-ingress/3306", "26735"}}));
  ASSERT_TRUE(client().patch(kServices, "default", "db", PatchType::kJson, json::array()));
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "PATCH");
  EXPECT_EQ(reqs[0].header("Content-Type"), "application/merge-patch+json");
  EXPECT_EQ(json::parse(reqs[0].body),
            json::parse(R"({"metadata":{"resourceVersion":"5","annotations":{"haproxy-ingress/3306":"26735"}}})"));
  EXPECT_EQ(reqs[1].header("Content-Type"), "application/json-patch+json");
}

TEST_F(RestClientTest, TransportFailureIsRetriedThenReported) {
  std::string dead_url;
  {
    ScriptedHttpServer gone;
    dead_url = gone.url();
  }
  KubeConfig config;
  config.server = dead_url;
  RestClient dead(config, transport_, *tokens_, limiter_, clock_, fast_policy(3));
  auto doc = dead.get(kServices, "default", "db");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, ErrorCode::kTransport);
  EXPECT_EQ(clock_.sleeps().size(), 2u);
  // A POST that never reached the server is safe to repeat.
  auto created = dead.create(kEvents, "default", json::object());
  ASSERT_FALSE(created);
  EXPECT_EQ(clock_.sleeps().size(), 4u);
  EXPECT_EQ(dead.responses().snapshot(), (std::map<std::string, std::uint64_t>{{"transport", 6}}));
}

std::string event_line(std::string_view type, std::string_view name, std::string_view rv) {
  return json{{"type", type}, {"object", {{"metadata", {{"name", name}, {"resourceVersion", rv}}}}}}.dump();
}

TEST_F(RestClientTest, WatchSplitsLinesAcrossChunksAndSkipsMalformedOnes) {
  std::string added = event_line("ADDED", "a", "6");
  server_.enqueue(ScriptedResponse::streaming(
      {added.substr(0, 17),
       added.substr(17) + "\n" + "not json at all\n" + event_line("MODIFIED", "a", "7") + "\r\n\n",
       event_line("BOOKMARK", "", "8")}));
  std::vector<std::pair<WatchEventType, std::string>> seen;
  WatchOptions options;
  options.resource_version = "5";
  options.timeout_seconds = 60;
  auto result = client().watch(
      kServices, "default", options,
      [&](WatchEvent&& e) {
        seen.emplace_back(e.type, e.object["metadata"]["resourceVersion"].get<std::string>());
        return true;
      },
      {});
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(seen, (std::vector<std::pair<WatchEventType, std::string>>{
                      {WatchEventType::kAdded, "6"}, {WatchEventType::kModified, "7"}, {WatchEventType::kBookmark, "8"}}));
  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target,
            "/api/v1/namespaces/default/services?watch=true&resourceVersion=5&allowWatchBookmarks=true&timeoutSeconds=60");
  EXPECT_EQ(reqs[0].header("Authorization"), "Bearer tok-1");
}

TEST_F(RestClientTest, WatchHandlerCanStopTheStream) {
  server_.enqueue(ScriptedResponse::streaming(
      {event_line("ADDED", "a", "1") + "\n" + event_line("ADDED", "b", "2") + "\n"}, true));
  int calls = 0;
  auto result = client().watch(kServices, "", {}, [&](WatchEvent&&) { return ++calls < 1; }, {});
  ASSERT_TRUE(result) << result.error().describe();
  EXPECT_EQ(calls, 1);
}

TEST_F(RestClientTest, WatchErrorAnswersAreNotRetried) {
  server_.enqueue(ScriptedResponse::with_body(410, failure_status_body(410, "Expired", "too old resource version")));
  server_.enqueue(ScriptedResponse::with_body(429).header("Retry-After", "1"));
  server_.enqueue(ScriptedResponse::with_body(401));
  auto handler = [](WatchEvent&&) { return true; };
  auto gone = client().watch(kServices, "", {}, handler, {});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kGone);
  auto throttled = client().watch(kServices, "", {}, handler, {});
  ASSERT_FALSE(throttled);
  EXPECT_EQ(throttled.error().code, ErrorCode::kTooManyRequests);
  auto unauthorized = client().watch(kServices, "", {}, handler, {});
  ASSERT_FALSE(unauthorized);
  EXPECT_EQ(unauthorized.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(server_.requests().size(), 3u);
  EXPECT_TRUE(clock_.sleeps().empty());
  EXPECT_EQ(client().responses().snapshot(),
            (std::map<std::string, std::uint64_t>{{"401", 1}, {"410", 1}, {"429", 1}}));
}

TEST_F(RestClientTest, StopCancelsABlockedWatchPromptly) {
  server_.enqueue(ScriptedResponse::streaming({event_line("ADDED", "a", "1") + "\n"}, true));
  std::stop_source stop;
  std::promise<void> first_event;
  Result<void> result;
  std::jthread watcher([&] {
    bool once = true;
    result = client().watch(
        kServices, "", {},
        [&](WatchEvent&&) {
          if (std::exchange(once, false)) first_event.set_value();
          return true;
        },
        stop.get_token());
  });
  first_event.get_future().wait();
  ASSERT_TRUE(server_.wait_for_held_streams(1));
  auto start = std::chrono::steady_clock::now();
  stop.request_stop();
  watcher.join();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kCancelled);
  // curl_multi_wakeup ends the poll at once; without it the poll would wait its full 5 s.
  EXPECT_LT(elapsed, 2s);
}

TEST_F(RestClientTest, ShutdownCancelsRequests) {
  client().shutdown();
  auto doc = client().get(kServices, "default", "db");
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(server_.requests().empty());
}

TEST(LineSplitterTest, ReassemblesLinesFedByteByByte) {
  std::string stream = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
  LineSplitter splitter;
  std::vector<std::string> lines;
  for (char c : stream) {
    splitter.feed(std::string_view(&c, 1), [&](std::string_view line) {
      lines.emplace_back(line);
      return true;
    });
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
  EXPECT_EQ(splitter.take_rest(), "{\"c\":3}");
}

TEST(QueryTest, EscapesAndOmitsEmptyParameters) {
  EXPECT_EQ(list_query({}), "");
  EXPECT_EQ(url_escape("a b/c?d&e=f~g_h.i-j"), "a%20b%2Fc%3Fd%26e%3Df~g_h.i-j");
  WatchOptions bare;
  bare.allow_bookmarks = false;
  bare.timeout_seconds = 0;
  EXPECT_EQ(watch_query(bare), "?watch=true");
  EXPECT_EQ(patch_content_type(PatchType::kStrategicMerge), "application/strategic-merge-patch+json");
}

}  // namespace
}  // namespace berth::kube
