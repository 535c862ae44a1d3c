// kube-sim's HTTP behaviour, end to end: the real binary (KubeSimProcess) over HTTPS.
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iterator>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/https_client.h"
#include "support/kube_sim_process.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::string_view kServices = "/api/v1/namespaces/default/services";

json service_manifest(std::string_view name, int port = 80) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", name}}}}},
          {"spec", {{"selector", {{"app", name}}}, {"ports", {{{"name", "p"}, {"port", port}, {"protocol", "TCP"}}}}}}};
}

// A watch stream read on its own thread; events are handed over through a queue.
class WatchStream {
 public:
  WatchStream(const KubeSimProcess& sim, std::string path) {
    HttpRequest request;
    request.url = sim.server_url() + path;
    request.token = sim.token();
    request.ca_pem = sim.ca_pem();
    request.timeout_ms = 120000;
    thread_ = std::jthread([this, request](std::stop_token stop) {
      auto result = https_stream_lines(
          request,
          [this](std::string_view line) {
            std::lock_guard lock(mu_);
            lines_.emplace_back(line);
            cv_.notify_all();
            return true;
          },
          stop);
      std::lock_guard lock(mu_);
      status_ = result ? result->status : -1;
      ended_ = true;
      cv_.notify_all();
    });
  }

  // The next event, or null when none arrives within `timeout` or the stream ended.
  json next(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !lines_.empty() || ended_; });
    if (lines_.empty()) return nullptr;
    auto line = std::move(lines_.front());
    lines_.pop_front();
    return json::parse(line);
  }

  // Whether the server ended the stream within `timeout`.
  bool ends_within(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return ended_; });
  }
  long status() {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  bool ended_ = false;
  long status_ = 0;
  std::jthread thread_;  // last: stopped and joined first
};

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = sim_.start();
    ASSERT_TRUE(started) << started.error().describe();
  }

  HttpResponse call(std::string_view method, std::string_view path, const json& body = nullptr,
                    std::string_view content_type = "application/json") {
    auto response = sim_.request(method, path, body.is_null() ? "" : body.dump(), content_type);
    EXPECT_TRUE(response) << response.error().describe();
    return response ? *response : HttpResponse{};
  }

  static json parse(const HttpResponse& response) { return json::parse(response.body, nullptr, false); }

  json stats() { return json::parse(*sim_.admin("GET", "/admin/stats")); }

  KubeSimProcess sim_;
};

TEST_F(ApiServerTest, ServesDiscoveryDocuments) {
  auto version = call("GET", "/version");
  EXPECT_EQ(version.status, 200);
  EXPECT_EQ(parse(version)["gitVersion"], "v1.32.0-kube-sim");

  EXPECT_EQ(parse(call("GET", "/api"))["versions"][0], "v1");

  auto core = parse(call("GET", "/api/v1"));
  EXPECT_EQ(core["kind"], "APIResourceList");
  std::vector<std::string> names;
  for (const auto& r : core["resources"]) names.push_back(r["name"]);
  EXPECT_NE(std::find(names.begin(), names.end(), "services"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "events"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "namespaces"), names.end());

  auto groups = parse(call("GET", "/apis"));
  EXPECT_EQ(groups["kind"], "APIGroupList");
  // discovery.k8s.io, coordination.k8s.io, and the generic kinds' rbac.authorization.k8s.io and apps.
  EXPECT_EQ(groups["groups"].size(), 4u);

  auto slices = parse(call("GET", "/apis/discovery.k8s.io/v1"));
  EXPECT_EQ(slices["resources"][0]["name"], "endpointslices");
  EXPECT_EQ(call("GET", "/apis/apps/v1").status, 200);
  EXPECT_EQ(call("GET", "/apis/batch/v1").status, 404);
  EXPECT_EQ(call("GET", "/openapi/v2").status, 404);
  EXPECT_EQ(call("GET", "/openapi/v3").status, 200);
}

TEST_F(ApiServerTest, RequiresABearerToken) {
  HttpRequest request;
  request.url = sim_.server_url() + std::string(kServices);
  request.ca_pem = sim_.ca_pem();
  auto anonymous = https_request(request);
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(json::parse(anonymous->body)["reason"], "Unauthorized");

  request.token = "wrong";
  EXPECT_EQ(https_request(request)->status, 401);

  // Health endpoints answer without a token, as kube-apiserver's do.
  request.url = sim_.server_url() + "/healthz";
  auto health = https_request(request);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok");

  // Tokens can be added and revoked at run time.
  request.url = sim_.server_url() + std::string(kServices);
  request.token = "rotated";
  ASSERT_TRUE(sim_.admin("POST", "/admin/tokens", R"({"token":"rotated"})"));
  EXPECT_EQ(https_request(request)->status, 200);
  ASSERT_TRUE(sim_.admin("DELETE", "/admin/tokens/rotated"));
  EXPECT_EQ(https_request(request)->status, 401);
}

TEST_F(ApiServerTest, CreateGetAndStatusErrors) {
  auto created = call("POST", kServices, service_manifest("web"));
  ASSERT_EQ(created.status, 201) << created.body;
  auto object = parse(created);
  EXPECT_FALSE(object["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE(object["metadata"]["resourceVersion"].get<std::string>().empty());
  EXPECT_FALSE(object["spec"]["clusterIP"].get<std::string>().empty());

  auto got = call("GET", std::string(kServices) + "/web");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(parse(got)["metadata"]["uid"], object["metadata"]["uid"]);

  auto again = call("POST", kServices, service_manifest("web"));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(parse(again)["reason"], "AlreadyExists");
  EXPECT_EQ(parse(again)["code"], 409);

  auto missing = call("GET", std::string(kServices) + "/nope");
  EXPECT_EQ(missing.status, 404);
  auto status = parse(missing);
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["reason"], "NotFound");
  EXPECT_EQ(status["details"]["name"], "nope");
  EXPECT_EQ(status["details"]["kind"], "services");

  auto elsewhere = service_manifest("x");
  elsewhere["metadata"]["namespace"] = "absent";
  EXPECT_EQ(call("POST", "/api/v1/namespaces/absent/services", elsewhere).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/pods").status, 404);

  auto invalid = call("POST", kServices, service_manifest("Bad_Name"));
  EXPECT_EQ(invalid.status, 422);
  EXPECT_EQ(parse(invalid)["reason"], "Invalid");

  auto malformed = sim_.request("POST", kServices, "{not json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(parse(*malformed)["reason"], "BadRequest");

  auto wrong_ns = service_manifest("other");
  wrong_ns["metadata"]["namespace"] = "kube-system";
  EXPECT_EQ(call("POST", kServices, wrong_ns).status, 400);

  // PUT with a stale resourceVersion is a 409 Conflict.
  auto stale = object;
  stale["metadata"]["resourceVersion"] = "1";
  stale["metadata"]["labels"]["x"] = "y";
  auto conflict = call("PUT", std::string(kServices) + "/web", stale);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(parse(conflict)["reason"], "Conflict");
  auto fresh = parse(got);
  fresh["metadata"]["labels"]["x"] = "y";
  auto updated = call("PUT", std::string(kServices) + "/web", fresh);
  EXPECT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(parse(updated)["metadata"]["labels"]["x"], "y");

  auto deleted = call("DELETE", std::string(kServices) + "/web");
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(call("GET", std::string(kServices) + "/web").status, 404);
  EXPECT_EQ(call("DELETE", std::string(kServices) + "/web").status, 404);
}

TEST_F(ApiServerTest, ListsPageWithContinueTokens) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(call("POST", kServices, service_manifest("s" + std::to_string(i))).status, 201);
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  std::string list_version;
  do {
    std::string path = std::string(kServices) + "?limit=2" + (token.empty() ? "" : "&continue=" + token);
    auto page = parse(call("GET", path));
    EXPECT_EQ(page["kind"], "ServiceList");
    EXPECT_EQ(page["apiVersion"], "v1");
    if (list_version.empty()) list_version = page["metadata"]["resourceVersion"];
    EXPECT_EQ(page["metadata"]["resourceVersion"], list_version);
    for (const auto& item : page["items"]) names.push_back(item["metadata"]["name"]);
    token = page["metadata"].value("continue", "");
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names, (std::vector<std::string>{"s0", "s1", "s2", "s3", "s4"}));

  auto selected = parse(call("GET", "/api/v1/services?labelSelector=app%3Ds3"));
  ASSERT_EQ(selected["items"].size(), 1u);
  EXPECT_EQ(selected["items"][0]["metadata"]["name"], "s3");
  auto by_field = parse(call("GET", "/api/v1/services?fieldSelector=metadata.name%3Ds1"));
  ASSERT_EQ(by_field["items"].size(), 1u);
  EXPECT_EQ(call("GET", std::string(kServices) + "?limit=x").status, 400);
}

TEST_F(ApiServerTest, AppliesMergeStrategicAndJsonPatches) {
  ASSERT_EQ(call("POST", kServices, service_manifest("web")).status, 201);
  std::string path = std::string(kServices) + "/web";

  auto merged = call("PATCH", path, {{"metadata", {{"annotations", {{"a", "1"}}}}}}, "application/merge-patch+json");
  EXPECT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(parse(merged)["metadata"]["annotations"]["a"], "1");

  auto strategic = call("PATCH", path, {{"metadata", {{"annotations", {{"b", "2"}}}}}},
                        "application/strategic-merge-patch+json");
  EXPECT_EQ(strategic.status, 200) << strategic.body;
  EXPECT_EQ(parse(strategic)["metadata"]["annotations"]["a"], "1");
  EXPECT_EQ(parse(strategic)["metadata"]["annotations"]["b"], "2");

  json ops = json::array({{{"op", "replace"}, {"path", "/metadata/annotations/a"}, {"value", "3"}}});
  auto patched = call("PATCH", path, ops, "application/json-patch+json");
  EXPECT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(parse(patched)["metadata"]["annotations"]["a"], "3");

  auto apply = call("PATCH", path, {{"metadata", {{"name", "web"}}}}, "application/apply-patch+yaml");
  EXPECT_EQ(apply.status, 415);
  EXPECT_EQ(parse(apply)["reason"], "UnsupportedMediaType");

  auto stale = call("PATCH", path, {{"metadata", {{"resourceVersion", "1"}, {"labels", {{"z", "z"}}}}}},
                    "application/merge-patch+json");
  EXPECT_EQ(stale.status, 409);
}

TEST_F(ApiServerTest, WatchSeesAddedModifiedDeleted) {
  auto list = parse(call("GET", kServices));
  std::string rv = list["metadata"]["resourceVersion"];
  WatchStream watch(sim_, std::string(kServices) + "?watch=true&resourceVersion=" + rv);
  ASSERT_EQ(call("POST", kServices, service_manifest("web")).status, 201);
  ASSERT_EQ(call("PATCH", std::string(kServices) + "/web", {{"metadata", {{"labels", {{"v", "2"}}}}}},
                 "application/merge-patch+json")
                .status,
            200);
  ASSERT_EQ(call("DELETE", std::string(kServices) + "/web").status, 200);

  std::vector<std::string> types;
  for (int i = 0; i < 3; ++i) {
    auto event = watch.next();
    ASSERT_FALSE(event.is_null()) << "missing event " << i;
    types.push_back(event["type"]);
    EXPECT_EQ(event["object"]["metadata"]["name"], "web");
  }
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));
}

TEST_F(ApiServerTest, WatchFromACompactedVersionGetsAnExpiredErrorEvent) {
  ASSERT_EQ(call("POST", kServices, service_manifest("a")).status, 201);
  auto old_rv = parse(call("GET", kServices))["metadata"]["resourceVersion"].get<std::string>();
  ASSERT_EQ(call("POST", kServices, service_manifest("b")).status, 201);
  ASSERT_TRUE(sim_.admin("POST", "/admin/faults/compact"));

  auto response = call("GET", std::string(kServices) + "?watch=1&resourceVersion=" + old_rv);
  EXPECT_EQ(response.status, 200);
  auto event = json::parse(response.body.substr(0, response.body.find('\n')));
  EXPECT_EQ(event["type"], "ERROR");
  EXPECT_EQ(event["object"]["code"], 410);
  EXPECT_EQ(event["object"]["reason"], "Expired");
}

TEST_F(ApiServerTest, WatchTimeoutEndsTheStream) {
  WatchStream watch(sim_, std::string(kServices) + "?watch=true&timeoutSeconds=1");
  EXPECT_TRUE(watch.ends_within(10s));
  EXPECT_EQ(watch.status(), 200);
}

TEST_F(ApiServerTest, DropWatchesEndsOpenStreams) {
  WatchStream watch(sim_, std::string(kServices) + "?watch=true&timeoutSeconds=120");
  // Synchronise on the server having the watch open.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (stats()["watches"]["open"] != 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(stats()["watches"]["open"], 1);
  ASSERT_TRUE(sim_.admin("POST", "/admin/faults/drop-watches"));
  EXPECT_TRUE(watch.ends_within(10s));
  EXPECT_EQ(watch.status(), 200);
}

TEST_F(ApiServerTest, InjectedTooManyRequestsThenRecovery) {
  ASSERT_TRUE(sim_.admin("POST", "/admin/faults/errors",
                         R"({"count":2,"status":429,"retryAfterSeconds":7,"paths":"/api/v1/namespaces/default"})"));
  EXPECT_EQ(call("GET", "/api/v1/namespaces/kube-system/services").status, 200);  // other prefix
  for (int i = 0; i < 2; ++i) {
    auto limited = call("GET", kServices);
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(limited.headers["retry-after"], "7");
    EXPECT_EQ(parse(limited)["reason"], "TooManyRequests");
    EXPECT_EQ(parse(limited)["details"]["retryAfterSeconds"], 7);
  }
  EXPECT_EQ(call("GET", kServices).status, 200);

  ASSERT_TRUE(sim_.admin("POST", "/admin/faults/errors", R"({"count":1,"status":503})"));
  EXPECT_TRUE(sim_.admin("GET", "/admin/stats"));  // the admin API is never faulted
  EXPECT_EQ(call("GET", kServices).status, 503);
  EXPECT_EQ(call("GET", kServices).status, 200);
  EXPECT_GE(stats()["requests"]["byStatus"]["429"].get<int>(), 2);

  ASSERT_TRUE(sim_.admin("POST", "/admin/faults/errors", R"({"count":5,"status":500})"));
  ASSERT_TRUE(sim_.admin("POST", "/admin/faults/clear"));
  EXPECT_EQ(call("GET", kServices).status, 200);
}

TEST_F(ApiServerTest, StateSurvivesARestart) {
  auto created = parse(call("POST", kServices, service_manifest("keep")));
  auto uid = created["metadata"]["uid"];
  auto rv = std::stoll(created["metadata"]["resourceVersion"].get<std::string>());
  int port = sim_.port();

  auto restarted = sim_.restart();
  ASSERT_TRUE(restarted) << restarted.error().describe();
  EXPECT_EQ(sim_.port(), port);
  auto got = call("GET", std::string(kServices) + "/keep");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(parse(got)["metadata"]["uid"], uid);
  EXPECT_EQ(parse(got)["spec"]["clusterIP"], created["spec"]["clusterIP"]);
  auto next = parse(call("POST", kServices, service_manifest("after")));
  EXPECT_GT(std::stoll(next["metadata"]["resourceVersion"].get<std::string>()), rv);
  EXPECT_NE(next["spec"]["clusterIP"], created["spec"]["clusterIP"]);
}

TEST_F(ApiServerTest, WritesReachTheStateFileWithoutAStop) {
  ASSERT_EQ(call("POST", kServices, service_manifest("crashy")).status, 201);
  // The saver writes within its debounce interval (200 ms); wait for it, bounded.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  auto saved = [&] {
    std::ifstream in(sim_.state_file());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find("crashy") != std::string::npos;
  };
  while (!saved() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(saved());
  sim_.crash();
  auto started = sim_.start();
  ASSERT_TRUE(started) << started.error().describe();
  EXPECT_EQ(call("GET", std::string(kServices) + "/crashy").status, 200);
}

TEST_F(ApiServerTest, InjectedLatencyDelaysApiRequests) {
  ASSERT_TRUE(sim_.admin("POST", "/admin/faults/latency", R"({"milliseconds":300})"));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(call("GET", kServices).status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_EQ(stats()["faults"]["latencyMilliseconds"], 300);
}

TEST_F(ApiServerTest, StopIsCleanAndSavesState) {
  ASSERT_EQ(call("POST", kServices, service_manifest("x")).status, 201);
  auto status = sim_.stop();
  ASSERT_TRUE(status) << status.error().describe();
  EXPECT_EQ(*status, 0);
  EXPECT_TRUE(std::filesystem::exists(sim_.state_file()));
}

TEST_F(ApiServerTest, DryRunStoresNothing) {
  auto dry = call("POST", std::string(kServices) + "?dryRun=All", service_manifest("ghost"));
  EXPECT_EQ(dry.status, 201) << dry.body;
  EXPECT_EQ(parse(dry)["metadata"]["name"], "ghost");
  EXPECT_EQ(call("GET", std::string(kServices) + "/ghost").status, 404);

  ASSERT_EQ(call("POST", kServices, service_manifest("real")).status, 201);
  auto dry_delete = call("DELETE", std::string(kServices) + "/real?dryRun=All");
  EXPECT_EQ(dry_delete.status, 200);
  EXPECT_EQ(call("GET", std::string(kServices) + "/real").status, 200);
  EXPECT_EQ(call("POST", std::string(kServices) + "?dryRun=Some", service_manifest("g")).status, 400);
}

TEST_F(ApiServerTest, ServesEndpointSlicesLeasesAndEvents) {
  json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                {"kind", "EndpointSlice"},
                {"metadata", {{"name", "web-abc"}, {"labels", {{"kubernetes.io/service-name", "web"}}}}},
                {"addressType", "IPv4"},
                {"endpoints", {{{"addresses", {"10.0.0.5"}}, {"conditions", {{"ready", true}}}}}},
                {"ports", {{{"name", "p"}, {"port", 8080}, {"protocol", "TCP"}}}}};
  auto created = call("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", slice);
  EXPECT_EQ(created.status, 201) << created.body;
  auto listed = parse(call("GET", "/apis/discovery.k8s.io/v1/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb"));
  EXPECT_EQ(listed["kind"], "EndpointSliceList");
  EXPECT_EQ(listed["items"].size(), 1u);

  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "berth"}}},
                {"spec", {{"holderIdentity", "a"}, {"leaseDurationSeconds", 15}}}};
  EXPECT_EQ(call("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", lease).status, 201);
  EXPECT_EQ(parse(call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/berth"))["spec"]["holderIdentity"],
            "a");

  json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", "web.1"}}},
                {"involvedObject", {{"kind", "Service"}, {"name", "web"}, {"namespace", "default"}}},
                {"reason", "PortAllocated"},
                {"message", "m"},
                {"type", "Normal"}};
  auto posted = call("POST", "/api/v1/namespaces/default/events", event);
  EXPECT_EQ(posted.status, 201) << posted.body;
}

}  // namespace
}  // namespace berth::testing
