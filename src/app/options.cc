#include "app/options.h"

#include <iostream>

#include <CLI/CLI.hpp>

#include "app/version.h"

namespace berth::app {

ParsedCommandLine parse_command_line(int argc, const char* const* argv) {
  Options o;
  CLI::App cli{"berth: exposes in-cluster TCP services (databases) through HAProxy"};
  cli.set_version_flag("--version", std::string(kVersion));
  cli.add_option("--kubeconfig", o.kubeconfig,
                 "kubeconfig file; default $KUBECONFIG, else the in-cluster service account");
  cli.add_option("--context", o.context, "kubeconfig context; default its current-context");
  cli.add_option("--kube-api-qps", o.kube_api_qps,
                 "client-side limit of requests per second to the API server (<= 0: unlimited)")
      ->capture_default_str();
  cli.add_option("--kube-api-burst", o.kube_api_burst, "requests allowed at once above --kube-api-qps")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cli.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ExitNow{cli.exit(e, std::cout, std::cerr)};
  }
  return o;
}

}  // namespace berth::app
