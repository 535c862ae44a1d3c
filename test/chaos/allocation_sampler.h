// Samples the cluster while the chaos runs (not only at the end): every `period` it lists the
// Services and records each moment two marked Services hold one host port, and each moment a
// stable Service's host port is not the one it had at the start.
//
// A holding is a marked Service's TCP spec port with a canonical allocation annotation. Values
// a user wrote (UserWrites) are not berth's: a user may write another Service's port, and that
// duplicate lasts until berth has corrected it, so such holdings are left out. A LIST that
// fails (kube-sim is being faulted) is a skipped sample, counted.
//
// Thread-safety: start() and stop() from the driving thread; the sampler runs on its own
// thread with its own API client.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chaos/user_writes.h"
#include "kube/kube_client.h"

namespace berth::chaos {

struct SamplerReport {
  int samples = 0;
  int failed_samples = 0;
  std::vector<std::string> duplicates;        // first 20, each with its sample's time
  int duplicate_samples = 0;                  // samples that found one
  std::vector<std::string> stable_moves;      // first 20
  int stable_move_samples = 0;
};

class AllocationSampler {
 public:
  // `stable`: "ns/name" → port "haproxy-ingress/<p>" → the host port it must keep.
  AllocationSampler(std::unique_ptr<kube::KubeClient> client, const UserWrites& writes,
                    std::map<std::string, std::map<std::string, std::string>> stable, std::chrono::milliseconds period);
  ~AllocationSampler();

  void start();
  SamplerReport stop();

 private:
  void sample_once(const std::chrono::steady_clock::time_point& started);

  std::unique_ptr<kube::KubeClient> client_;
  const UserWrites& writes_;
  std::map<std::string, std::map<std::string, std::string>> stable_;
  std::chrono::milliseconds period_;
  std::mutex mutex_;  // guards report_
  SamplerReport report_;
  std::jthread thread_;
};

}  // namespace berth::chaos
