// kube-sim's HTTPS front: kube-apiserver-compatible routing, bearer-token auth, discovery,
// list/watch streaming, metav1.Status errors, and the /admin fault-injection endpoint
// (docs/kube-sim.md describes the wire behaviour).
//
// ApiServer parses requests and calls ObjectStore; it keeps no objects itself. Each connection
// is served on a thread of a pool of `threads` (a watch holds its thread for its whole life).
//
// Lifecycle: construct, bind() (port 0 picks a free port), then serve() on one thread until
// stop() is called from any other thread. stop() also ends open watch streams.
//
// Ownership: the store, faults and tokens are borrowed and must outlive the ApiServer.
// Thread-safety: bind() and serve() from one thread; stop(), stats() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/error.h"
#include "kube-sim/fault_injector.h"
#include "kube-sim/object_store.h"
#include "kube-sim/token_set.h"

namespace httplib {
class SSLServer;
struct Request;
struct Response;
}  // namespace httplib

namespace berth::kubesim {

// A resource URL taken apart: /api/v1/namespaces/default/services/foo -> services, "default", "foo".
struct ResourcePath {
  const kube::ResourceType* type = nullptr;
  std::string ns;    // "" for all namespaces or a cluster-scoped resource
  std::string name;  // "" for the collection
};
// std::nullopt when `path` is not a URL of a resource kube-sim serves (subresources included).
std::optional<ResourcePath> parse_resource_path(std::string_view path);

struct ApiServerOptions {
  std::string cert_file;  // PEM server certificate
  std::string key_file;   // PEM private key
  int threads = 64;
  StoreOptions store_options;  // for dryRun=All, which runs the request against a scratch copy
  // Called after every stored change (not for dry runs): the state file saver hooks in here.
  std::function<void()> on_write;
};

class ApiServer {
 public:
  ApiServer(ObjectStore& store, FaultInjector& faults, TokenSet& tokens, Clock& clock, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds the listening socket; returns the port. Errors: kInvalidArgument (bad TLS files),
  // kIo (the address cannot be bound).
  Result<int> bind(const std::string& host, int port);
  // Accepts connections until stop(). Errors: kIo when the server could not run.
  Result<void> serve();
  void stop();

  // Requests answered per status code, open and total watches, armed faults.
  nlohmann::json stats() const;

 private:
  void handle(const httplib::Request& req, httplib::Response& res);
  void handle_admin(const httplib::Request& req, httplib::Response& res);
  void handle_resource(const httplib::Request& req, httplib::Response& res, const ResourcePath& route);
  void handle_watch(const httplib::Request& req, httplib::Response& res, const ResourcePath& route);
  bool handle_discovery(const httplib::Request& req, httplib::Response& res);
  void record(int status);

  ObjectStore& store_;
  FaultInjector& faults_;
  TokenSet& tokens_;
  Clock& clock_;
  const ApiServerOptions options_;
  std::string server_address_;  // host:port, set by bind()
  std::stop_source stop_;
  std::unique_ptr<httplib::SSLServer> server_;

  mutable std::mutex stats_mu_;
  std::map<int, std::uint64_t> responses_by_status_;  // guarded by stats_mu_
  std::atomic<std::int64_t> open_watches_{0};
  std::atomic<std::uint64_t> watches_started_{0};
};

// The metav1.Status body for a failure: {"kind":"Status",...,"reason":..,"code":..}.
nlohmann::json failure_status(int code, std::string_view reason, std::string_view message,
                              const nlohmann::json& details = nullptr);
// The Status reason for an HTTP status code (and the ErrorCode for 409's two reasons).
std::string_view status_reason(int http_status, ErrorCode code = ErrorCode::kInternal);

}  // namespace berth::kubesim
