// A scripted, recording ApiClient for reflector and controller tests.
//
//   FakeApiClient api;
//   api.push_list(ListPage{...});                                   // answers the next list()
//   api.push_list(make_error(ErrorCode::kGone, "continue expired"));
//   FakeApiClient::WatchSession session;
//   session.events = {...};
//   session.end = FakeApiClient::WatchEnd::kError;                  // then fail with .error
//   api.push_watch(std::move(session));
//   ... run the code under test ...
//   api.wait_for_watches(2);                     // both sessions have delivered their events
//   EXPECT_EQ(api.watch_calls()[1].options.resource_version, "12");
//
// list() answers with the scripted results in order and, once the script is empty, with
// kServerError "no scripted list". watch() plays the scripted sessions in order: it hands each
// event to the handler (stopping early, with success, if the handler returns false), then ends
// as the session says. Once the script is empty, a watch blocks until stop (kCancelled).
// Every call is recorded with its options. get/create/update/patch/remove are recorded and
// answer kNotFound unless a result was pushed with push_result().
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/api_client.h"

namespace berth::testing {

class FakeApiClient : public kube::ApiClient {
 public:
  enum class WatchEnd {
    kClean,           // the server closed the stream: watch() returns success
    kError,           // the connection failed: watch() returns `error`
    kBlockUntilStop,  // the stream stays open until stop is requested (kCancelled)
  };
  struct WatchSession {
    std::vector<kube::WatchEvent> events;
    WatchEnd end = WatchEnd::kBlockUntilStop;
    Error error{ErrorCode::kTransport, "connection reset by fake", 0};
    // Runs on the watching thread after the events and before the end, e.g. to move a
    // FakeClock on while the stream is open.
    std::function<void()> before_end;
  };

  struct ListCall {
    std::string plural;
    std::string ns;
    kube::ListOptions options;
  };
  struct WatchCall {
    std::string plural;
    std::string ns;
    kube::WatchOptions options;
  };
  // get/create/update/patch/remove.
  struct Call {
    std::string verb;
    std::string plural;
    std::string ns;
    std::string name;
    nlohmann::json body;
  };

  void push_list(Result<kube::ListPage> page);
  void push_watch(WatchSession session);
  // The answer to the next get/create/update/patch (a remove() answers with its error only).
  void push_result(Result<nlohmann::json> result);

  std::vector<ListCall> list_calls() const;
  std::vector<WatchCall> watch_calls() const;
  std::vector<Call> calls() const;

  // Blocks until `n` list() calls have been made.
  void wait_for_lists(std::size_t n) const;
  // Blocks until `n` watch() calls have been made and have handed out all their events.
  void wait_for_watches(std::size_t n) const;

  Result<nlohmann::json> get(const kube::ResourceType& type, std::string_view ns, std::string_view name) override;
  Result<kube::ListPage> list(const kube::ResourceType& type, std::string_view ns,
                              const kube::ListOptions& options) override;
  Result<void> watch(const kube::ResourceType& type, std::string_view ns, const kube::WatchOptions& options,
                     const kube::WatchHandler& handler, std::stop_token stop) override;
  Result<nlohmann::json> create(const kube::ResourceType& type, std::string_view ns,
                                const nlohmann::json& object) override;
  Result<nlohmann::json> update(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                                const nlohmann::json& object) override;
  Result<nlohmann::json> patch(const kube::ResourceType& type, std::string_view ns, std::string_view name,
                               kube::PatchType patch_type, const nlohmann::json& patch) override;
  Result<void> remove(const kube::ResourceType& type, std::string_view ns, std::string_view name) override;

 private:
  Result<nlohmann::json> record(std::string verb, const kube::ResourceType& type, std::string_view ns,
                                std::string_view name, nlohmann::json body);

  mutable std::mutex mu_;
  mutable std::condition_variable_any cv_;
  std::deque<Result<kube::ListPage>> lists_;    // guarded by mu_
  std::deque<WatchSession> watches_;            // guarded by mu_
  std::deque<Result<nlohmann::json>> results_;  // guarded by mu_
  std::vector<ListCall> list_calls_;            // guarded by mu_
  std::vector<WatchCall> watch_calls_;          // guarded by mu_
  std::vector<Call> calls_;                     // guarded by mu_
  std::size_t watches_delivered_ = 0;           // guarded by mu_
};

}  // namespace berth::testing
