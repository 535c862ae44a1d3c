// What range mode's files cost after one runtime change, by part, at N routes: the text of
// haproxy.cfg, its hash, writing it (temporary file, fsync, rename), and the maps and one ACL
// file (write_range_files, which leaves a file that already holds its text alone). These are
// written after every runtime change (range_driver.h), so they bound how soon the next change
// can be applied when they are written on the sync's thread.
//
//   range_files_bench [--routes N] [--rounds R] [--dir D]
//
// In process, no HAProxy: the state is what a start with N one-server routes plans. Prints one
// JSON object per size on stdout, milliseconds (median and worst of R rounds, each after one
// new port is planned) and the config's size.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "common/atomic_file.h"
#include "haproxy/apply_steps.h"
#include "haproxy/model_fixtures.h"
#include "haproxy/range/range_config.h"
#include "haproxy/range/range_plan.h"

namespace {

using namespace berth::haproxy;
using Clock = std::chrono::steady_clock;

// A route per port, each to a server of its own.
Listener listener_at(int host_port) {
  return db_listener(host_port, {server(fmt::format("10.{}.{}.{}", host_port / 62500, (host_port / 250) % 250,
                                                    host_port % 250 + 1),
                                        3306)});
}

double ms_since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

nlohmann::json summary(std::vector<double> values) {
  return {{"p50", berth::bench::round3(berth::bench::percentile(values, 0.5))},
          {"max", berth::bench::round3(*std::ranges::max_element(values))}};
}

nlohmann::json measure(int routes, int rounds, const std::filesystem::path& dir) {
  const RangeFiles files = RangeFiles::in(dir);
  const RangePolicy policy;
  GlobalSettings global;
  global.bind_addresses = {*IpAddress::parse("127.0.0.1")};
  Model model;
  for (int i = 0; i < routes; ++i) model.listeners[20000 + i] = listener_at(20000 + i);
  RangeState state = plan_range_update(std::nullopt, model, policy, files).next;
  (void)write_range_files(files, state, {}, true);

  std::vector<double> copy_state, render, hash, write_config, write_maps;
  std::size_t config_bytes = 0;
  for (int round = 0; round < rounds; ++round) {
    const int port = 20000 + routes + round;
    model.listeners[port] = listener_at(port);
    RangePlan plan = plan_range_update(std::move(state), model, policy, files, nullptr);
    state = std::move(plan.next);

    auto start = Clock::now();
    RangeState copy = state;
    copy_state.push_back(ms_since(start));
    start = Clock::now();
    const std::string text = render_range_config(global, state, files);
    render.push_back(ms_since(start));
    config_bytes = text.size();
    start = Clock::now();
    const std::string digest = config_hash(text);
    hash.push_back(ms_since(start));
    start = Clock::now();
    (void)berth::write_file_atomically(dir / "haproxy.cfg", text, 0600);
    write_config.push_back(ms_since(start));
    start = Clock::now();
    (void)write_range_files(files, state, plan.touched_backends, false);
    write_maps.push_back(ms_since(start));
    if (digest.empty()) std::fprintf(stderr, "empty hash\n");
  }
  return {{"bench", "range_files"}, {"routes", routes},          {"rounds", rounds},
          {"config_bytes", config_bytes}, {"copy_state_ms", summary(copy_state)}, {"render_config_ms", summary(render)}, {"hash_config_ms", summary(hash)},
          {"write_config_ms", summary(write_config)}, {"write_maps_ms", summary(write_maps)}};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes{1000, 10000};
  int rounds = 20;
  std::filesystem::path dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--routes") sizes = {std::stoi(argv[i + 1])};
    if (flag == "--rounds") rounds = std::max(1, std::stoi(argv[i + 1]));
    if (flag == "--dir") dir = argv[i + 1];
  }
  const bool own_dir = dir.empty();
  if (own_dir) {
    char pattern[] = "/tmp/berth-range-files-bench-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return 1;
    dir = pattern;
  }
  for (int routes : sizes) std::printf("%s\n", measure(routes, rounds, dir).dump().c_str());
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
