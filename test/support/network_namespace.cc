#include "support/network_namespace.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

#include <fmt/format.h>

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

Result<void> run_ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kIpBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_command(argv, 10s);
  if (!result) return std::unexpected(result.error());
  if (result->exit_code != 0) {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    return make_error(ErrorCode::kInternal,
                      fmt::format("{} exited with {}: {}", command, result->exit_code, result->err + result->out));
  }
  return {};
}

}  // namespace

std::string NetworkNamespace::unique_name(std::string_view role) {
  static std::atomic<int> counter{0};
  return fmt::format("berth-{}-{}-{}", ::getpid(), counter++, role);
}

Result<std::unique_ptr<NetworkNamespace>> NetworkNamespace::create(std::string name) {
  if (name.empty()) return make_error(ErrorCode::kInvalidArgument, "empty namespace name");
  if (::access(kIpBinary, X_OK) != 0) return make_error(ErrorCode::kIo, std::string(kIpBinary) + " is missing");
  if (auto added = run_ip({"netns", "add", name}); !added) return make_error(ErrorCode::kIo, added.error().message);
  // From here on the destructor removes it, whatever fails next.
  std::unique_ptr<NetworkNamespace> ns(new NetworkNamespace(std::move(name)));
  if (auto up = ns->ip({"link", "set", "lo", "up"}); !up) return std::unexpected(up.error());
  return ns;
}

NetworkNamespace::~NetworkNamespace() {
  if (auto deleted = run_ip({"netns", "del", name_}); !deleted) {
    std::cerr << "NetworkNamespace: " << deleted.error().describe() << "\n";
  }
}

std::vector<std::string> NetworkNamespace::launcher() const { return {kIpBinary, "netns", "exec", name_}; }

Result<void> NetworkNamespace::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> all = {"-n", name_};
  all.insert(all.end(), args.begin(), args.end());
  return run_ip(all);
}

Result<CommandResult> NetworkNamespace::exec(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                                             std::string stdin_data) const {
  std::vector<std::string> all = launcher();
  all.insert(all.end(), argv.begin(), argv.end());
  return run_command(all, timeout, std::move(stdin_data));
}

Result<void> NetworkNamespace::run_inside(const std::function<void()>& fn) const {
  const std::string path = "/run/netns/" + name_;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kIo, "open " + path + ": " + std::strerror(errno));
  int setns_error = 0;
  std::thread inside([&] {
    if (::setns(fd, CLONE_NEWNET) != 0) {
      setns_error = errno;
      return;
    }
    fn();
  });
  inside.join();
  ::close(fd);
  if (setns_error != 0) return make_error(ErrorCode::kIo, "setns " + path + ": " + std::strerror(setns_error));
  return {};
}

}  // namespace berth::testing
