// A named network namespace that a test makes and removes (`ip netns add` / `ip netns del`),
// for tests that need machines of their own: load-balancer hosts, a switch, a client. Every
// link and address a test creates lives inside such namespaces, so nothing of the test is seen
// in the machine's own network namespace and nothing there is touched.
//
//   auto ns = NetworkNamespace::create(NetworkNamespace::unique_name("lb-a"));
//   ASSERT_TRUE(ns) << ...;                                 // not root, no `ip`: GTEST_SKIP
//   (*ns)->ip({"addr", "add", "198.18.0.11/24", "dev", "eth0"});   // ip -n <name> addr add ...
//   BerthProcess berth(args, (*ns)->launcher());            // a process inside it
//   (*ns)->run_inside([&] { server = std::make_unique<EchoServer>("db", "198.18.0.1"); });
//
// Names are unique per process and instance (unique_name), so two runs or a leftover never
// collide. The destructor deletes the namespace, also when the test fails; the interfaces in
// it go with it (a veth pair goes when either end's namespace goes). Processes still running
// inside keep the namespace alive, unnamed, until they exit, so stop them first.
//
// Threads: run_inside() moves only a new thread into the namespace (setns(2) acts on the
// calling thread), so the test's own threads stay where they are. Sockets keep the namespace
// they were made in, so a server made inside keeps serving there from any thread.
//
// Thread-safety: one thread creates and destroys an instance; ip(), exec() and run_inside() may
// be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "support/child_process.h"

namespace berth::testing {

inline constexpr const char* kIpBinary = "/bin/ip";

class NetworkNamespace {
 public:
  // "berth-<pid>-<n>-<role>": the test process's pid and a counter, so names never collide.
  static std::string unique_name(std::string_view role);

  // `ip netns add <name>` and `ip link set lo up` inside. Errors: kIo (no `ip`, not root, or
  // the kernel refused; the message has ip's own words), kInvalidArgument for an empty name.
  static Result<std::unique_ptr<NetworkNamespace>> create(std::string name);

  ~NetworkNamespace();
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;

  const std::string& name() const { return name_; }

  // The argv prefix that runs a command inside: {"/bin/ip", "netns", "exec", name}. ip execs
  // the command, so a child started this way has the command's own PID.
  std::vector<std::string> launcher() const;

  // `ip -n <name> <args...>`. Errors: kInternal with ip's stderr when it fails, kTimeout.
  Result<void> ip(const std::vector<std::string>& args) const;
  // Runs `argv` inside to completion (argv[0] an absolute path).
  Result<CommandResult> exec(const std::vector<std::string>& argv,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60),
                             std::string stdin_data = "") const;
  // Calls `fn` on a new thread that has entered the namespace, and waits for it. Errors: kIo
  // when the namespace cannot be entered (then `fn` is not called).
  Result<void> run_inside(const std::function<void()>& fn) const;

 private:
  explicit NetworkNamespace(std::string name) : name_(std::move(name)) {}

  std::string name_;
};

}  // namespace berth::testing
