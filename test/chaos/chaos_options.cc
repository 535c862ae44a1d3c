#include "chaos/chaos_options.h"

#include <CLI/CLI.hpp>

namespace berth::chaos {

std::variant<ChaosOptions, int> parse_chaos_options(int argc, char** argv) {
  ChaosOptions o;
  CLI::App cli{"berth-chaos: churns Services while kube-sim misbehaves and berths are SIGKILLed, "
               "then checks every promise berth makes; prints a JSON summary"};
  int budget_seconds = static_cast<int>(o.budget.count());
  int converge_seconds = static_cast<int>(o.converge_timeout.count());
  cli.add_option("--services", o.services, "churned Services alive at once")->capture_default_str()->check(CLI::Range(1, 5000));
  cli.add_option("--stable-services", o.stable_services, "untouched Services holding sessions")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cli.add_option("--sessions-per-stable", o.sessions_per_stable, "held sessions per stable Service and load balancer")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cli.add_option("--rounds", o.rounds, "rounds with faults and kills")->capture_default_str()->check(CLI::Range(0, 10000));
  cli.add_option("--quiet-rounds", o.quiet_rounds, "final rounds without kills (memory is judged over them)")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  cli.add_option("--operations-per-round", o.operations_per_round, "user operations per round")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cli.add_option("--budget-seconds", budget_seconds, "no new round starts after this")->capture_default_str()->check(CLI::Range(10, 86400));
  cli.add_option("--converge-seconds", converge_seconds, "how long a checkpoint waits for convergence")
      ->capture_default_str()
      ->check(CLI::Range(5, 3600));
  cli.add_option("--seed", o.seed, "0: from the clock");
  cli.add_option("--first-port", o.first_port, "the pool's first host port")->capture_default_str()->check(CLI::Range(1024, 65535));
  cli.add_option("--last-port", o.last_port, "the pool's last host port")->capture_default_str()->check(CLI::Range(1024, 65535));
  cli.add_option("--bind-address", o.bind_addresses, "the two load balancers' loopback addresses")
      ->expected(2)
      ->capture_default_str();
  cli.add_option("--listen-mode", o.listen_mode, "berth's --listen-mode: port or range")
      ->capture_default_str()
      ->check(CLI::IsMember({"port", "range"}));
  bool no_kills = false, no_faults = false;
  cli.add_flag("--no-kills", no_kills, "never SIGKILL a berth");
  cli.add_flag("--no-faults", no_faults, "never inject kube-sim faults");
  cli.add_option("--json", o.json_path, "also write the JSON summary to this file");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (o.first_port > o.last_port) {
    std::fprintf(stderr, "--first-port %d is above --last-port %d\n", o.first_port, o.last_port);
    return 2;
  }
  o.budget = std::chrono::seconds(budget_seconds);
  o.converge_timeout = std::chrono::seconds(converge_seconds);
  o.kills = !no_kills;
  o.faults = !no_faults;
  return o;
}

}  // namespace berth::chaos
