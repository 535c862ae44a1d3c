// berth's command line. Parsing and validation only; app.cc wires components from Options.
//
// Flag names follow the Kubernetes controllers a platform operator already runs
// (controller-runtime, kube-controller-manager) where one exists.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "common/error.h"

namespace berth::app {

struct Options {
  std::string kubeconfig;   // --kubeconfig; "" = $KUBECONFIG, else in-cluster
  std::string context;      // --context; "" = the kubeconfig's current-context
  double kube_api_qps = 20;  // --kube-api-qps; client-side rate limit, <= 0 disables
  int kube_api_burst = 40;   // --kube-api-burst
  std::string log_level = "info";
};

// What the command line asks for: run with Options, or exit at once with a code (help,
// version, or a usage error already printed to stderr).
struct ExitNow {
  int code = 0;
};
using ParsedCommandLine = std::variant<Options, ExitNow>;

ParsedCommandLine parse_command_line(int argc, const char* const* argv);

}  // namespace berth::app
