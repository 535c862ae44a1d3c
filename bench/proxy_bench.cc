// The data path: proxied vs direct throughput and connection rate, HAProxy as berth runs it
// beside nginx's stream proxy (Debian's nginx + libnginx-mod-stream, the reference a user would
// pick instead), measured in the same run on loopback.
//
// - HAProxy: the real chain. kube-sim, the berth binary and the HAProxy it starts with the
//   built-in template (its data-path settings as shipped: one thread per core, no splice; see
//   docs/haproxy-template.md), two marked Services whose EndpointSlices point at this
//   benchmark's servers.
// - haproxy_splice: the same with `option splice-auto` added to the template's defaults
//   (through --template), to show what the template leaves out.
// - nginx: `worker_processes` = cores (the same CPU budget as HAProxy's threads), one stream
//   `server` per backend with `proxy_pass` and `proxy_half_close on` (the sink answers after
//   the client's end of stream, as a database answers a request), nginx's defaults otherwise.
// - direct: the same kind of server, connected to without a proxy.
//
// Each target has its own backend servers (so no target's TIME_WAIT connections take another
// one's ports) and every figure is the median of --repeats runs:
// - throughput: one connection writes --megabytes MB to a sink that counts them and answers
//   the count at end of stream (checked); MB/s from the first byte to the answer.
// - connection rate: --threads clients connect, read the server's greeting line (like a
//   database handshake, the server speaks first) and close, until --connections connections
//   or --seconds passed; connections/s, and every failed one counted.
// Ratios are proxied / direct of the same run. Host ports 21000-21009 (HAProxy), 21010-21011
// (nginx) and 21020-21029 (HAProxy with splice) on 127.0.0.1; backends on 127.0.0.2-3; clients bind 127.0.1.x so that each thread has
// its own ephemeral ports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "common/atomic_file.h"
#include "haproxy/config_renderer.h"
#include "support/child_process.h"
#include "support/dataplane_cluster.h"
#include "support/echo_server.h"
#include "support/eventually.h"
#include "support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
using berth::testing::ChildProcess;
using berth::testing::DataplaneCluster;
using berth::testing::EchoServer;
using berth::testing::eventually;
using berth::testing::greeting_at;
using SteadyClock = std::chrono::steady_clock;

constexpr int kHaproxyFirstPort = 21000;
constexpr int kSpliceFirstPort = 21020;
constexpr int kNginxSinkPort = 21010;
constexpr int kNginxGreeterPort = 21011;
constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kNginxStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so";

struct Params {
  int megabytes = 512;
  int repeats = 3;
  int threads = 4;
  int connections = 8000;
  int seconds = 3;
};

// A socket connected to address:port, bound to `source` first when given. -1 on failure.
int connect_to(const std::string& address, int port, const std::string& source = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!source.empty()) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address.c_str(), &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until '\n' (bounded by `timeout` per poll); the line without it, or "" on failure.
std::string read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  char c;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    if (::read(fd, &c, 1) != 1) return "";
    if (c == '\n') return line;
    line += c;
  }
}

// Counts what each connection sends and answers "<bytes>\n" at its end of stream.
class SinkServer {
 public:
  explicit SinkServer(const std::string& address) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::jthread([this](std::stop_token stop) { serve(stop); });
  }
  ~SinkServer() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  int port() const { return port_; }

 private:
  void serve(std::stop_token stop) {
    std::vector<char> buffer(256 * 1024);
    while (!stop.stop_requested()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;  // 100 ms: how soon a stop is noticed
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      // One connection at a time: the throughput runs use one stream. A health check's
      // connect-and-close ends at once, so it never holds up a run.
      std::size_t total = 0;
      while (true) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 10000) <= 0) break;
        const ssize_t n = ::read(c, buffer.data(), buffer.size());
        if (n <= 0) break;
        total += static_cast<std::size_t>(n);
      }
      const std::string answer = std::to_string(total) + "\n";
      (void)!::write(c, answer.data(), answer.size());
      ::close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::jthread thread_;
};

// MB/s of one stream of `megabytes` MB to the sink at address:port, or -1 when the count the
// sink answered differs from what was sent.
double throughput_once(const std::string& address, int port, int megabytes) {
  const int fd = connect_to(address, port);
  if (fd < 0) return -1;
  std::vector<char> chunk(256 * 1024, 'x');
  const std::size_t total = static_cast<std::size_t>(megabytes) * 1024 * 1024;
  const auto start = SteadyClock::now();
  std::size_t sent = 0;
  while (sent < total) {
    const ssize_t n = ::write(fd, chunk.data(), std::min(chunk.size(), total - sent));
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  const std::string answer = read_line(fd, 30s);
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  ::close(fd);
  if (sent != total || answer != std::to_string(total)) return -1;
  return static_cast<double>(total) / (1024.0 * 1024.0) / seconds;
}

struct RateResult {
  double per_second = 0;
  long ok = 0;
  long failed = 0;
};

// Connections per second to a greeter at address:port (connect, read the greeting, close).
RateResult connection_rate_once(const std::string& address, int port, const Params& p) {
  std::atomic<long> ok{0}, failed{0}, started{0};
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::seconds(p.seconds);
  {
    std::vector<std::jthread> clients;
    for (int t = 0; t < p.threads; ++t) {
      clients.emplace_back([&, t] {
        const std::string source = fmt::format("127.0.1.{}", t + 1);
        while (started++ < p.connections && SteadyClock::now() < deadline) {
          const int fd = connect_to(address, port, source);
          if (fd < 0) {
            ++failed;
            continue;
          }
          if (read_line(fd, 5s).empty()) {
            ++failed;
          } else {
            ++ok;
          }
          ::close(fd);
        }
      });
    }
  }
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return {static_cast<double>(ok.load()) / seconds, ok.load(), failed.load()};
}

// The nginx stream proxy in front of one sink and one greeter.
class Nginx {
 public:
  Nginx(int sink_backend, int greeter_backend) {
    const auto conf = fmt::format(R"(load_module {module};
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
stream {{
  proxy_half_close on;
  server {{ listen 127.0.0.1:{sink_port}; proxy_pass 127.0.0.2:{sink_backend}; }}
  server {{ listen 127.0.0.1:{greeter_port}; proxy_pass 127.0.0.3:{greeter_backend}; }}
}}
)",
                                  fmt::arg("module", kNginxStreamModule),
                                  fmt::arg("workers", std::thread::hardware_concurrency()),
                                  fmt::arg("dir", dir_.path().string()), fmt::arg("sink_port", kNginxSinkPort),
                                  fmt::arg("sink_backend", sink_backend), fmt::arg("greeter_port", kNginxGreeterPort),
                                  fmt::arg("greeter_backend", greeter_backend));
    const auto path = dir_.write("nginx.conf", conf);
    auto child = ChildProcess::spawn({kNginx, "-p", dir_.path().string(), "-e", (dir_.path() / "error.log").string(),
                                      "-c", path.string()},
                                     {.pipe_stderr = true});
    if (child) child_ = std::move(*child);
  }
  ~Nginx() {
    if (child_) (void)child_->stop(10s);  // SIGTERM: nginx's fast shutdown, its workers with it
  }
  bool running() { return child_ && child_->running(); }
  std::string error_log() const { return berth::read_whole_file(dir_.path() / "error.log").value_or(""); }

 private:
  berth::testing::TempDir dir_;
  std::unique_ptr<ChildProcess> child_;
};

// Where a figure's client connects: the backends themselves (direct) or a proxy's ports.
struct Target {
  std::string name;  // direct, haproxy, haproxy_splice, nginx
  int sink_port;
  int greeter_port;
  std::string sink_address = "127.0.0.1";
  std::string greeter_address = "127.0.0.1";
};

// kube-sim, berth and its HAProxy serving two marked Services: "sink" and "greeter".
struct BerthServing {
  std::unique_ptr<DataplaneCluster> cluster;
  int sink_port = 0;
  int greeter_port = 0;
};

std::optional<BerthServing> serve_through_berth(int first_port, int sink_backend, const EchoServer& greeter,
                                                std::vector<std::string> extra_args) {
  BerthServing serving;
  serving.cluster = std::make_unique<DataplaneCluster>(
      berth::testing::DataplaneClusterOptions{.port_ranges = {{first_port, first_port + 9}},
                                              .flags = {},
                                              .extra_args = std::move(extra_args)});
  auto& cluster = *serving.cluster;
  if (auto up = cluster.start(); !up) {
    std::fprintf(stderr, "proxy_bench: berth did not start HAProxy: %s\n%s\n", up.error().describe().c_str(),
                 cluster.berth().log().c_str());
    return std::nullopt;
  }
  auto slice = [](const std::string& service, const std::string& address, int port) {
    return fmt::format(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: {0}-1, labels: {{kubernetes.io/service-name: {0}}}}}
addressType: IPv4
ports: [{{name: db, port: {2}, protocol: TCP}}]
endpoints: [{{addresses: ["{1}"], conditions: {{ready: true}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {0}, annotations: {{ingress: haproxy-ingress}}}}
spec: {{ports: [{{name: db, port: 5432, protocol: TCP}}]}}
---
)",
                       service, address, port);
  };
  if (auto applied =
          cluster.kubectl_apply(slice("sink", "127.0.0.2", sink_backend) + slice("greeter", "127.0.0.3", greeter.port()));
      !applied) {
    std::fprintf(stderr, "proxy_bench: kubectl apply: %s\n", applied.error().describe().c_str());
    return std::nullopt;
  }
  auto sink_port = cluster.wait_for_host_port("sink", 5432);
  auto greeter_port = cluster.wait_for_host_port("greeter", 5432);
  if (!sink_port || !greeter_port || !eventually([&] {
        return greeting_at("127.0.0.1", *greeter_port, 1s).value_or("") == greeter.name();
      }, 30s)) {
    std::fprintf(stderr, "proxy_bench: HAProxy did not serve the Services\n%s\n", cluster.berth().log().c_str());
    return std::nullopt;
  }
  serving.sink_port = *sink_port;
  serving.greeter_port = *greeter_port;
  return serving;
}

int run(const Params& p) {
  const nlohmann::json common = {{"bench", "proxy"},
                                 {"cores", std::thread::hardware_concurrency()},
                                 {"haproxy_version", berth::bench::haproxy_version()},
                                 {"nginx_version", berth::bench::version_line(kNginx, "-v")},
                                 {"haproxy_tuning", "berth's default template: nbthread unset (one thread per core), "
                                                    "no splice; haproxy_splice adds option splice-auto"},
                                 {"nginx_worker_processes", std::thread::hardware_concurrency()},
                                 {"megabytes", p.megabytes},
                                 {"repeats", p.repeats},
                                 {"client_threads", p.threads},
                                 {"max_connections", p.connections},
                                 {"max_seconds", p.seconds}};
  auto print = [&](nlohmann::json figure) {
    figure.update(common);
    std::printf("%s\n", figure.dump().c_str());
    std::fflush(stdout);
  };

  // Backends, one set per target.
  SinkServer direct_sink("127.0.0.2"), haproxy_sink("127.0.0.2"), splice_sink("127.0.0.2"), nginx_sink("127.0.0.2");
  EchoServer direct_greeter("direct", "127.0.0.3"), haproxy_greeter("haproxy", "127.0.0.3"),
      splice_greeter("haproxy_splice", "127.0.0.3"), nginx_greeter("nginx", "127.0.0.3");
  if (!direct_sink.ok() || !haproxy_sink.ok() || !splice_sink.ok() || !nginx_sink.ok() || !direct_greeter.ok() ||
      !haproxy_greeter.ok() || !splice_greeter.ok() || !nginx_greeter.ok()) {
    std::fprintf(stderr, "proxy_bench: could not listen on 127.0.0.2/127.0.0.3\n");
    return 1;
  }

  auto haproxy = serve_through_berth(kHaproxyFirstPort, haproxy_sink.port(), haproxy_greeter, {});
  if (!haproxy) return 1;
  berth::testing::TempDir splice_dir;
  std::string splice_template(berth::haproxy::ConfigRenderer::default_template());
  const std::string anchor = "    option tcpka\n";
  splice_template.replace(splice_template.find(anchor), anchor.size(), anchor + "    option splice-auto\n");
  const auto splice_template_path = splice_dir.write("splice.cfg.mustache", splice_template);
  auto splice = serve_through_berth(kSpliceFirstPort, splice_sink.port(), splice_greeter,
                                    {"--template", splice_template_path.string()});
  if (!splice) return 1;
  if (berth::read_whole_file(splice->cluster->config_path()).value_or("").find("option splice-auto") == std::string::npos) {
    std::fprintf(stderr, "proxy_bench: the splice template did not reach haproxy.cfg\n");
    return 1;
  }

  Nginx nginx(nginx_sink.port(), nginx_greeter.port());
  if (!eventually([&] { return greeting_at("127.0.0.1", kNginxGreeterPort, 1s).value_or("") == "nginx"; }, 30s)) {
    std::fprintf(stderr, "proxy_bench: nginx did not serve\n%s\n", nginx.error_log().c_str());
    return 1;
  }

  const std::vector<Target> targets = {{"direct", direct_sink.port(), direct_greeter.port(), "127.0.0.2", "127.0.0.3"},
                                       {"haproxy", haproxy->sink_port, haproxy->greeter_port},
                                       {"haproxy_splice", splice->sink_port, splice->greeter_port},
                                       {"nginx", kNginxSinkPort, kNginxGreeterPort}};
  std::map<std::string, double> throughput, rate;
  // Throughput first, interleaved by repeat so that a slow moment of the machine hits every target.
  std::map<std::string, std::vector<double>> mbps;
  for (int r = 0; r < p.repeats; ++r) {
    for (const auto& t : targets) mbps[t.name].push_back(throughput_once(t.sink_address, t.sink_port, p.megabytes));
  }
  for (const auto& t : targets) {
    const auto& runs = mbps[t.name];
    const bool all_ok = std::ranges::none_of(runs, [](double v) { return v < 0; });
    throughput[t.name] = all_ok ? berth::bench::percentile(runs, 0.5) : -1;
    print({{"name", "throughput_" + t.name},
           {"value", berth::bench::round3(throughput[t.name])},
           {"unit", "MB/s"},
           {"runs", runs},
           {"checked", all_ok}});
  }
  for (const auto& t : targets) {
    std::vector<double> runs;
    long failed = 0;
    long ok = 0;
    for (int r = 0; r < p.repeats; ++r) {
      auto once = connection_rate_once(t.greeter_address, t.greeter_port, p);
      runs.push_back(once.per_second);
      failed += once.failed;
      ok += once.ok;
    }
    rate[t.name] = berth::bench::percentile(runs, 0.5);
    print({{"name", "connection_rate_" + t.name},
           {"value", berth::bench::round3(rate[t.name])},
           {"unit", "connections/s"},
           {"runs", runs},
           {"connections", ok},
           {"failed_connections", failed}});
  }
  for (const std::string proxy : {"haproxy", "haproxy_splice", "nginx"}) {
    print({{"name", "throughput_ratio_" + proxy},
           {"value", berth::bench::round3(throughput[proxy] / throughput["direct"])},
           {"unit", "ratio"},
           {"of", proxy + " / direct"}});
    print({{"name", "connection_rate_ratio_" + proxy},
           {"value", berth::bench::round3(rate[proxy] / rate["direct"])},
           {"unit", "ratio"},
           {"of", proxy + " / direct"}});
  }
  print({{"name", "haproxy_vs_nginx_throughput"},
         {"value", berth::bench::round3(throughput["haproxy"] / throughput["nginx"])},
         {"unit", "ratio"}});
  print({{"name", "haproxy_vs_nginx_connection_rate"},
         {"value", berth::bench::round3(rate["haproxy"] / rate["nginx"])},
         {"unit", "ratio"}});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Params p;
  CLI::App app{"proxied vs direct throughput and connection rate: HAProxy through berth, and nginx"};
  app.add_option("--megabytes", p.megabytes, "MB one throughput run writes")->check(CLI::PositiveNumber);
  app.add_option("--repeats", p.repeats, "runs of each figure (the median is reported)")->check(CLI::PositiveNumber);
  app.add_option("--threads", p.threads, "client threads of the connection-rate runs")->check(CLI::Range(1, 200));
  app.add_option("--connections", p.connections, "connections in one connection-rate run, at most")
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", p.seconds, "length of one connection-rate run, at most")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    return run(p);
  } catch (const std::exception& e) {
    // Caught here so that the stack unwinds: the guards stop berth, HAProxy, nginx and kube-sim.
    std::fprintf(stderr, "proxy_bench: %s\n", e.what());
    return 1;
  }
}
