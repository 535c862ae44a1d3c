// A running berth binary for end-to-end tests: started with a kubeconfig and flags, its log
// (stdout and stderr) going to a file in its own temporary directory, so a test that does
// not read the log can never block berth on a full pipe (LoggedProcess).
//
//   BerthProcess berth({"--kubeconfig", path, "--port-range", "20000-20099"});
//   ASSERT_TRUE(berth.start());
//   ASSERT_TRUE(berth.wait_for_log("port pool rebuilt", 30s));
//   berth.kill();        // SIGKILL: a crash
//   berth.start();       // the same flags again, the log appended to
//
//   BerthProcess in_ns(args, ns.launcher());   // inside a network namespace (ip netns exec)
//
// The destructor kills a berth that still runs. Only this process's own PID is signalled.
// Thread-safety: one thread uses an instance.
#pragma once

#include <string>
#include <vector>

#include "support/logged_process.h"

namespace berth::testing {

class BerthProcess : public LoggedProcess {
 public:
  explicit BerthProcess(std::vector<std::string> args, std::vector<std::string> launcher = {});
};

}  // namespace berth::testing
