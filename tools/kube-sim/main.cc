// kube-sim: a Kubernetes-API-compatible HTTPS server for tests and the demo (docs/kube-sim.md).
//
//   kube-sim --listen 127.0.0.1:0 --kubeconfig-out /tmp/x/kubeconfig [--state-file f] ...
//
// Start-up order matters to harnesses: bind, write the kubeconfig (atomically), then print the
// one "kube-sim ready ..." line on stdout; SIGTERM/SIGINT stop the server and save the state.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/clock.h"
#include "common/log.h"
#include "kube-sim/api_server.h"
#include "kube-sim/fault_injector.h"
#include "kube-sim/kubeconfig_writer.h"
#include "kube-sim/object_store.h"
#include "kube-sim/state_file.h"
#include "kube-sim/tls_identity.h"
#include "kube-sim/token_set.h"

namespace {

struct Flags {
  std::string listen = "127.0.0.1:0";
  std::string kubeconfig_out;
  std::string state_file;
  std::string data_dir;
  std::string service_cidr = "10.96.0.0/16";
  std::string token;
  std::vector<std::string> tls_sans;
  std::size_t history_limit = 100000;
  int threads = 64;
  std::string log_level = "info";
};

// "127.0.0.1:8443", "[::1]:0" -> host and port.
bool split_listen(const std::string& listen, std::string& host, int& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    std::size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    return used == listen.size() - colon - 1 && port >= 0 && port <= 65535;
  } catch (const std::exception&) {
    return false;
  }
}

int run(const Flags& flags) {
  using namespace berth;
  using namespace berth::kubesim;
  auto log = logger("kube-sim");

  std::string host;
  int port = 0;
  if (!split_listen(flags.listen, host, port)) {
    log->error("bad --listen value={} (want host:port)", flags.listen);
    return 2;
  }
  std::filesystem::path kubeconfig = std::filesystem::absolute(flags.kubeconfig_out);
  std::filesystem::path data_dir =
      flags.data_dir.empty() ? kubeconfig.parent_path() : std::filesystem::absolute(flags.data_dir);

  std::error_code ec;
  std::filesystem::create_directories(kubeconfig.parent_path(), ec);
  if (ec) {
    log->error("cannot create the kubeconfig's folder path={} error=\"{}\"", kubeconfig.parent_path().string(),
               ec.message());
    return 1;
  }
  for (const std::string& san : flags.tls_sans) {
    if (auto ok = check_tls_san(san); !ok) {
      log->error("bad --tls-san: {}", ok.error().message);
      return 2;
    }
  }
  auto identity = load_or_create_tls_identity(data_dir, flags.tls_sans);
  if (!identity) {
    log->error("TLS identity failed: {}", identity.error().describe());
    return 1;
  }

  StoreOptions store_options;
  store_options.service_cidr = flags.service_cidr;
  store_options.history_limit = flags.history_limit;
  ObjectStore store(store_options);
  if (!flags.state_file.empty()) {
    auto state = read_state_file(flags.state_file);
    if (!state) {
      log->error("reading state failed: {}", state.error().describe());
      return 1;
    }
    if (*state) {
      if (auto ok = store.restore(**state); !ok) {
        log->error("restoring state failed: {}", ok.error().describe());
        return 1;
      }
      log->info("state restored file={} resourceVersion={}", flags.state_file, store.resource_version());
    }
  }

  std::unique_ptr<StateSaver> saver;
  if (!flags.state_file.empty()) {
    saver = std::make_unique<StateSaver>(flags.state_file, [&store] { return store.snapshot(); },
                                         SystemClock::instance());
  }

  FaultInjector faults;
  const std::string token = flags.token.empty() ? random_token() : flags.token;
  TokenSet tokens(token);

  ApiServerOptions options;
  options.cert_file = tls_files(data_dir).server_cert.string();
  options.key_file = tls_files(data_dir).server_key.string();
  options.threads = flags.threads;
  options.store_options = store_options;
  if (saver) options.on_write = [s = saver.get()] { s->mark_dirty(); };
  ApiServer server(store, faults, tokens, SystemClock::instance(), options);
  auto bound = server.bind(host, port);
  if (!bound) {
    log->error("bind failed: {}", bound.error().describe());
    return 1;
  }

  std::string url_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string server_url = "https://" + url_host + ":" + std::to_string(*bound);
  if (auto ok = write_kubeconfig(kubeconfig, {server_url, identity->ca_cert_pem, token}); !ok) {
    log->error("writing kubeconfig failed: {}", ok.error().describe());
    return 1;
  }

  std::jthread signals([&server, log](std::stop_token stop) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    while (!stop.stop_requested()) {
      timespec wait{0, 200 * 1000 * 1000};
      int sig = sigtimedwait(&set, nullptr, &wait);
      if (sig == SIGTERM || sig == SIGINT) {
        log->info("signal received signal={}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        // Repeated because a stop() that lands before serve() has started listening is lost.
        while (!stop.stop_requested()) {
          server.stop();
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return;
      }
    }
  });

  log->info("serving server={} kubeconfig={} threads={}", server_url, kubeconfig.string(), flags.threads);
  std::cout << "kube-sim ready server=" << server_url << " kubeconfig=" << kubeconfig.string() << std::endl;

  auto served = server.serve();
  signals.request_stop();
  int rc = 0;
  if (!served) {
    log->error("server failed: {}", served.error().describe());
    rc = 1;
  }
  if (saver) {
    if (auto ok = saver->flush(); !ok) {
      log->error("saving state failed: {}", ok.error().describe());
      rc = 1;
    } else {
      log->info("state saved file={} resourceVersion={}", flags.state_file, store.resource_version());
    }
  }
  log->info("stopped");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"kube-sim: a Kubernetes-API-compatible HTTPS server for tests and demos"};
  app.add_option("--listen", flags.listen, "host:port to listen on; port 0 picks a free port")->capture_default_str();
  app.add_option("--kubeconfig-out", flags.kubeconfig_out, "where to write the kubeconfig for clients")->required();
  app.add_option("--state-file", flags.state_file, "JSON file that keeps the objects across restarts");
  app.add_option("--data-dir", flags.data_dir, "directory for the CA and server certificate (default: the kubeconfig's)");
  app.add_option("--service-cidr", flags.service_cidr, "range that ClusterIPs are allocated from")->capture_default_str();
  app.add_option("--tls-san", flags.tls_sans,
                 "extra subject alternative name (IP or DNS name) of the server certificate; repeatable");
  app.add_option("--token", flags.token, "bearer token to accept (default: a random one, written to the kubeconfig)");
  app.add_option("--history-limit", flags.history_limit, "watch events kept before compaction")->capture_default_str();
  app.add_option("--threads", flags.threads, "HTTPS worker threads (each open watch holds one)")->capture_default_str();
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (!berth::set_log_level(flags.log_level)) {
    std::cerr << "unknown --log-level " << flags.log_level << "\n";
    return 2;
  }
  // Block the stop signals in every thread (they inherit the mask) so that one thread receives
  // them with sigtimedwait; a vanished client must not kill the process with SIGPIPE.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return run(flags);
}
