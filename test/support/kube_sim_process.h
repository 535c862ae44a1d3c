// Runs the real kube-sim binary (BERTH_KUBE_SIM_BIN) for a test, over loopback HTTPS.
//
//   berth::testing::KubeSimProcess sim;
//   ASSERT_TRUE(sim.start()) ...;
//   kubectl --kubeconfig sim.kubeconfig_path() ...;  sim.admin("POST", "/admin/faults/compact");
//
// start() makes a fresh temp dir (mkdtemp) holding the kubeconfig, the state file and the
// certificates, starts kube-sim on 127.0.0.1 (or options.listen_host) port 0 (or options.port)
// and waits for its "kube-sim ready" line. restart() stops it (SIGTERM, so it saves its state)
// and starts it again on the same port with the same state file, data dir and token: clients
// keep their kubeconfig. crash() kills it with SIGKILL (no final save; the debounced saves still ran).
//
// Cleanup is RAII: the destructor stops the process (SIGTERM, then SIGKILL; only its own PID)
// and removes the temp dir, also when a test fails half-way.
//
// Thread-safety: one thread drives an instance; admin() may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "support/child_process.h"
#include "support/https_client.h"

namespace berth::testing {

struct KubeSimOptions {
  std::string listen_host = "127.0.0.1";  // another address needs {"--tls-san", it} in extra_args
  int port = 0;                       // 0: a free port, kept by restart()
  std::string token;                  // "" = a fixed test token chosen by the harness
  std::vector<std::string> extra_args;  // e.g. {"--history-limit", "10"}
  std::chrono::milliseconds start_timeout{30000};
  // Comes before the command: NetworkNamespace::launcher() runs kube-sim inside a namespace
  // (then request() and admin(), which run in the test's own namespace, cannot reach it).
  std::vector<std::string> launcher;
};

class KubeSimProcess {
 public:
  explicit KubeSimProcess(KubeSimOptions options = {});
  ~KubeSimProcess();
  KubeSimProcess(const KubeSimProcess&) = delete;
  KubeSimProcess& operator=(const KubeSimProcess&) = delete;

  // Errors: kIo (temp dir, spawn), kTimeout (no ready line in time), kInternal (the process
  // exited before it was ready; the message has its exit status).
  Result<void> start();
  // SIGTERM and wait (then SIGKILL). Returns kube-sim's exit status (0 on a clean stop).
  Result<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL: a crash.
  void crash();
  // stop() + start() with the same port, state file, certificates and token.
  Result<void> restart();
  bool running();

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path kubeconfig_path() const { return dir_ / "kubeconfig"; }
  std::filesystem::path state_file() const { return dir_ / "state.json"; }
  const std::string& server_url() const { return server_url_; }  // https://<listen host>:<port>
  int port() const { return port_; }
  const std::string& token() const { return token_; }
  const std::string& ca_pem() const { return ca_pem_; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }

  // One HTTPS request to kube-sim with the token and CA (path: "/api/v1/...").
  Result<HttpResponse> request(std::string_view method, std::string_view path, std::string_view body = "",
                               std::string_view content_type = "application/json") const;
  // An /admin request; the response body on 2xx, an Error with the status and body otherwise.
  Result<std::string> admin(std::string_view method, std::string_view path, std::string_view body = "") const;

 private:
  KubeSimOptions options_;
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> child_;
  std::string server_url_;
  int port_ = 0;
  std::string token_;
  std::string ca_pem_;
};

}  // namespace berth::testing
