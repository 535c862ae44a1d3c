// The HTTP endpoints an operator and the kubelet read: /metrics (the Registry in Prometheus'
// text format), /status (berth's own JSON status, for `berth status`), /healthz (the process
// serves requests) and /readyz (ready() says yes; else 503 with its reason), on a plain-HTTP listener of its own per address, as controller-runtime's
// --metrics-bind-address and --health-probe-bind-address.
//
//   ProbeServer metrics(registry, {}, {});                 // serves /metrics
//   ProbeServer probes(nullptr, [] { return ready(); }, ...);
//   auto bound = metrics.start(*parse_bind_address("127.0.0.1:8080"));
//
// Bind addresses: "host:port", ":port" (every IPv4 address), "[v6]:port"; "0" disables the
// listener (parse_bind_address returns nullopt). A port held by another process is an error
// from start(), naming the address. Only GET and HEAD are served; everything else is 404/405.
//
// Thread-safety: start() and stop() from one thread; requests are served on the server's own
// threads, which call registry.render() and ready() concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/error.h"
#include "metrics/registry.h"

namespace httplib {
class Server;
}

namespace berth::metrics {

struct BindAddress {
  std::string host;  // "0.0.0.0", "127.0.0.1", "::1"
  int port = 0;      // 0: the kernel picks (tests)
  std::string to_string() const;
};

// nullopt for "0" (disabled); kInvalidArgument for anything else that is not an address.
Result<std::optional<BindAddress>> parse_bind_address(std::string_view text);

// The answer of /readyz: ready, or why not ("caches not synced").
struct Readiness {
  bool ready = false;
  std::string reason;
};

class ProbeServer {
 public:
  // `registry` null: no /metrics. `ready` empty: no /healthz or /readyz. `status`, when set,
  // serves GET /status: its JSON document (`berth status` reads it).
  ProbeServer(const Registry* registry, std::function<Readiness()> ready, std::function<std::string()> status = {});
  ~ProbeServer();
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;

  // Binds and starts serving on a thread of its own; returns the bound port. kIo when the
  // address cannot be bound.
  Result<int> start(const BindAddress& address);
  void stop();

 private:
  const Registry* registry_;
  std::function<Readiness()> ready_;
  std::function<std::string()> status_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace berth::metrics
