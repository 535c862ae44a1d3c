#include "metrics/probe_server.h"

#include <arpa/inet.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <memory>

#include <fmt/format.h>
#include <httplib.h>

namespace berth::metrics {

std::string BindAddress::to_string() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

Result<std::optional<BindAddress>> parse_bind_address(std::string_view text) {
  if (text == "0") return std::optional<BindAddress>{};
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("bind address '{}': {}", text, why));
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("expected host:port, :port, [v6]:port or 0");
  std::string host(text.substr(0, colon));
  const std::string_view port_text = text.substr(colon + 1);
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 ||
      port > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  if (host.empty()) {
    host = "0.0.0.0";
  } else if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad("an IPv6 address goes in brackets: [::1]:8080");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return bad("an IPv6 address goes in brackets: [::1]:8080");  // as Go's SplitHostPort
  }
  // Only literal addresses: a name would be resolved at every start, and could resolve elsewhere.
  unsigned char buffer[sizeof(in6_addr)];
  const bool v6 = host.find(':') != std::string::npos;
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buffer) != 1) return bad("not an IP address");
  return std::optional<BindAddress>{BindAddress{.host = host, .port = port}};
}

ProbeServer::ProbeServer(const Registry* registry, std::function<Readiness()> ready,
                         std::function<std::string()> status)
    : registry_(registry), ready_(std::move(ready)), status_(std::move(status)) {}

ProbeServer::~ProbeServer() { stop(); }

Result<int> ProbeServer::start(const BindAddress& address) {
  server_ = std::make_unique<httplib::Server>();
  // A scrape or a probe is one short request; four threads keep a slow scraper from starving
  // the kubelet's probes.
  server_->new_task_queue = [] { return new httplib::ThreadPool(4); };
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  // httplib's default also sets SO_REUSEPORT, which would let a second process bind the same
  // port and take a share of the scrapes and probes; SO_REUSEADDR alone, so a held port fails.
  server_->set_socket_options([](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  if (registry_) {
    server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(registry_->render(), "text/plain; version=0.0.4; charset=utf-8");
    });
  }
  if (status_) {
    server_->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(status_(), "application/json");
    });
  }
  if (ready_) {
    server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
    server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
      const Readiness r = ready_();
      res.status = r.ready ? 200 : 503;
      res.set_content(r.ready ? "ok\n" : r.reason + "\n", "text/plain");
    });
  }
  int bound = address.port;
  if (address.port == 0) {
    bound = server_->bind_to_any_port(address.host);
  } else if (!server_->bind_to_port(address.host, address.port)) {
    bound = -1;
  }
  if (bound < 0) {
    server_.reset();
    return make_error(ErrorCode::kIo,
                      fmt::format("cannot listen on {} (in use by another process, or not an address of this host)",
                                  address.to_string()));
  }
  auto finished = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread([server = server_.get(), finished] {
    server->listen_after_bind();
    finished->store(true);
  });
  // httplib's stop() does nothing until the accept loop runs (is_running()), so a stop() right
  // after start() would leave the thread listening forever. cpp-httplib 0.11 has no readiness
  // callback: wait for the flag, bounded, here, where the loop starts within microseconds.
  for (int i = 0; i < 5000 && !server_->is_running() && !finished->load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) {
    stop();
    return make_error(ErrorCode::kIo, fmt::format("the listener on {} did not start", address.to_string()));
  }
  return bound;
}

void ProbeServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace berth::metrics
