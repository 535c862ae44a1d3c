// Faults that kube-sim's admin endpoint arms and the API handlers consult: a number of
// upcoming API requests answered with an error status (429/500/503, optionally only for paths
// with a given prefix, with a Retry-After), and a fixed latency added to every API request.
// (Dropped watches and compaction act on ObjectStore directly; a restart is done by the harness.)
//
// Thread-safety: every member is safe to call from any thread; one mutex guards the state.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace berth::kubesim {

struct InjectedError {
  int status = 503;
  int retry_after_seconds = 0;  // 0: no Retry-After header
};

class FaultInjector {
 public:
  // The next `count` API requests whose path starts with `path_prefix` ("" = any) fail with
  // `status`. Replaces any error fault armed before.
  void inject_errors(int count, int status, int retry_after_seconds, std::string path_prefix);

  // Consumes one armed error when `path` matches; std::nullopt lets the request through.
  std::optional<InjectedError> take_error(std::string_view path);

  void set_latency(std::chrono::milliseconds latency);
  std::chrono::milliseconds latency() const;

  // Disarms every fault.
  void clear();

  // What is armed, for GET /admin/stats.
  nlohmann::json describe() const;

 private:
  mutable std::mutex mu_;
  int remaining_errors_ = 0;             // guarded by mu_
  InjectedError error_;                  // guarded by mu_
  std::string path_prefix_;              // guarded by mu_
  std::chrono::milliseconds latency_{0};  // guarded by mu_
};

}  // namespace berth::kubesim
