// One chaos run (docs/robustness.md): kube-sim, two load balancers (berth --leader-elect +
// HAProxy each), stable Services with sessions held through both, and churned Services. Each
// round runs the churn while kube-sim is faulted (dropped watches, compaction, 429/5xx bursts,
// latency, restarts) and berths are SIGKILLed and started again; then faults are cleared and
// the round ends in a checkpoint that waits (bounded) until the cluster's allocations are
// valid and unique and both HAProxies run exactly what the cluster implies, then checks the
// held sessions and samples berth's memory. The last rounds kill nothing, so the memory of the
// berths that run through them can be judged. An AllocationSampler watches for duplicate host
// ports all along.
//
//   ChaosRun run(options);
//   nlohmann::json summary = run.run();   // summary["passed"], summary["failures"]
//
// Every process the run starts is stopped by PID when the ChaosRun goes, also after a failure.
// Thread-safety: one thread drives an instance.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chaos/chaos_options.h"

namespace berth::chaos {

class ChaosRun {
 public:
  explicit ChaosRun(ChaosOptions options);
  ~ChaosRun();
  ChaosRun(const ChaosRun&) = delete;
  ChaosRun& operator=(const ChaosRun&) = delete;

  // Runs to the end (or to the first failure that makes going on pointless) and returns the
  // summary; "passed" is false and "failures" says why when a promise was broken.
  nlohmann::json run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace berth::chaos
