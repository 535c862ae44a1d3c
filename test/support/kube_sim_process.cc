#include "support/kube_sim_process.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace berth::testing {
namespace {

constexpr std::string_view kReadyPrefix = "kube-sim ready server=";

}  // namespace

KubeSimProcess::KubeSimProcess(KubeSimOptions options) : options_(std::move(options)) {
  port_ = options_.port;
  token_ = options_.token.empty() ? "kube-sim-test-token" : options_.token;
}

KubeSimProcess::~KubeSimProcess() {
  if (child_) (void)stop(std::chrono::seconds(5));
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

Result<void> KubeSimProcess::start() {
  if (child_ && child_->running()) return make_error(ErrorCode::kInvalidArgument, "kube-sim is already running");
  if (dir_.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kube-sim-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return make_error(ErrorCode::kIo, "mkdtemp failed for " + tmpl);
    dir_ = tmpl;
  }
  std::vector<std::string> argv = options_.launcher;
  argv.insert(argv.end(), {BERTH_KUBE_SIM_BIN, "--listen", options_.listen_host + ":" + std::to_string(port_),
                           "--kubeconfig-out", kubeconfig_path().string(), "--state-file", state_file().string(),
                           "--data-dir", (dir_ / "pki").string(), "--token", token_});
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  auto child = ChildProcess::spawn(argv);
  if (!child) return std::unexpected(child.error());
  child_ = std::move(*child);

  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      child_->kill();
      return make_error(ErrorCode::kTimeout, "kube-sim printed no ready line in time");
    }
    auto line = child_->read_line(left);
    if (!line) {
      if (line.error().code == ErrorCode::kTimeout) continue;
      auto status = child_->wait(std::chrono::seconds(5));
      return make_error(ErrorCode::kInternal,
                        "kube-sim exited before it was ready, status " + (status ? std::to_string(*status) : "?"));
    }
    if (!line->starts_with(kReadyPrefix)) continue;
    std::string rest = line->substr(kReadyPrefix.size());
    server_url_ = rest.substr(0, rest.find(' '));
    port_ = std::stoi(server_url_.substr(server_url_.rfind(':') + 1));
    break;
  }
  std::ifstream ca(dir_ / "pki" / "ca.crt");
  std::ostringstream text;
  text << ca.rdbuf();
  ca_pem_ = text.str();
  if (ca_pem_.empty()) return make_error(ErrorCode::kIo, "kube-sim wrote no ca.crt");
  return {};
}

Result<int> KubeSimProcess::stop(std::chrono::milliseconds grace) {
  if (!child_) return make_error(ErrorCode::kInvalidArgument, "kube-sim was not started");
  return child_->stop(grace);
}

void KubeSimProcess::crash() {
  if (child_) child_->kill();
}

Result<void> KubeSimProcess::restart() {
  if (child_ && child_->running()) {
    auto status = stop();
    if (!status) return std::unexpected(status.error());
  }
  return start();
}

bool KubeSimProcess::running() { return child_ && child_->running(); }

Result<HttpResponse> KubeSimProcess::request(std::string_view method, std::string_view path, std::string_view body,
                                             std::string_view content_type) const {
  HttpRequest request;
  request.method = std::string(method);
  request.url = server_url_ + std::string(path);
  request.body = std::string(body);
  request.content_type = std::string(content_type);
  request.token = token_;
  request.ca_pem = ca_pem_;
  return https_request(request);
}

Result<std::string> KubeSimProcess::admin(std::string_view method, std::string_view path, std::string_view body) const {
  auto response = request(method, path, body);
  if (!response) return std::unexpected(response.error());
  if (response->status < 200 || response->status >= 300) {
    return make_error(ErrorCode::kHttpError,
                      "admin " + std::string(path) + " answered " + std::to_string(response->status) + ": " +
                          response->body,
                      static_cast<int>(response->status));
  }
  return response->body;
}

}  // namespace berth::testing
