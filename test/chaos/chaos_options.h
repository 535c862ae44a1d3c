// What one chaos run does (`berth-chaos --help`): how many Services it churns, for how long,
// from which seed, and which host ports and addresses it may use. `make chaos` runs the full
// size; ctest's Chaos.* run the short one (docs/robustness.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace berth::chaos {

struct ChaosOptions {
  int services = 100;              // churned Services alive at once (about)
  int stable_services = 4;         // Services never touched, each holding sessions
  int sessions_per_stable = 3;     // held sessions per stable Service and load balancer
  int rounds = 6;                  // rounds of churn with faults and kills, each ending in a checkpoint
  int quiet_rounds = 3;            // then rounds without kills, over which berth's memory must stay flat
  int operations_per_round = 60;
  std::chrono::seconds budget{240};  // no new round starts after this; convergence waits are bounded too
  std::chrono::seconds converge_timeout{120};
  std::uint64_t seed = 0;            // 0: from the clock (printed, so a run can be replayed)
  int first_port = 22000;            // the pool both berths allocate from
  int last_port = 23999;
  // The two load balancers' bind addresses: a private pair of loopback addresses, so the pool's
  // ports do not collide with other tests' listeners on 127.0.0.1 (docs/development.md).
  std::vector<std::string> bind_addresses{"127.0.1.1", "127.0.1.2"};
  std::string listen_mode = "port";  // berth's --listen-mode (docs/listen-modes.md)
  bool kills = true;                 // SIGKILL berths during the rounds
  bool faults = true;                // kube-sim faults during the rounds
  std::string json_path;             // also write the summary here
};

// Parses argv. The options, or the exit code CLI11 asks for (0 after --help).
std::variant<ChaosOptions, int> parse_chaos_options(int argc, char** argv);

}  // namespace berth::chaos
