// How long the data plane's ModelBuilder takes to turn N Services and their EndpointSlices into
// a Model: the first build (every Service worked out), and a build after one Service changed,
// which is what every sync at scale does (issue 8: a new Service's path to accepting).
//
//   model_builder_bench [--services N] [--rounds R]
//
// In process, no cluster: the objects are made as a Store holds them. Prints one JSON object
// per size on stdout: milliseconds of the first build and the median and worst of R builds,
// each after one Service is replaced by a changed copy, three ways:
//   build_after_one_change       from vectors the bench keeps (no Store)
//   list_build_after_one_change  from services.list() and slices.list() of two kube::Stores
//   store_build_after_one_change from the two Stores, following their change logs (the sync's)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "dataplane/model_builder.h"
#include "kube/store.h"

namespace {

using berth::dataplane::ModelBuilder;
namespace kube = berth::kube;

struct Cluster {
  std::vector<ModelBuilder::ServicePtr> services;
  std::vector<ModelBuilder::SlicePtr> slices;
};

// Services like a database platform's: one TCP port, a check, a slice of two endpoints.
Cluster make_cluster(int count) {
  Cluster cluster;
  for (int i = 0; i < count; ++i) {
    auto service = std::make_shared<kube::Service>();
    service->meta.namespace_ = fmt::format("tenant-{}", i % 100);
    service->meta.name = fmt::format("db-{}", i);
    service->meta.uid = fmt::format("uid-{}", i);
    service->meta.resource_version = "1";
    service->meta.creation_timestamp = "2026-12-01T00:00:00Z";
    service->meta.annotations = {{"ingress", "haproxy-ingress"},
                                 {"haproxy-ingress/3306", fmt::format("{}", 20000 + i)},
                                 {"haproxy-ingress/check", "mysql"}};
    kube::ServicePort port;
    port.name = "mysql";
    port.port = 3306;
    port.target_port = kube::IntOrString{3306};
    service->ports = {port};
    service->cluster_ip = fmt::format("10.96.{}.{}", i / 250, i % 250 + 1);
    cluster.services.push_back(service);

    auto slice = std::make_shared<kube::EndpointSlice>();
    slice->meta.namespace_ = service->meta.namespace_;
    slice->meta.name = service->meta.name + "-abcde";
    slice->meta.uid = fmt::format("slice-uid-{}", i);
    slice->service_name = service->meta.name;
    slice->address_type = "IPv4";
    slice->ports = {kube::EndpointPort{"mysql", 3306, "TCP"}};
    for (int e = 1; e <= 2; ++e) {
      kube::Endpoint endpoint;
      endpoint.addresses = {fmt::format("10.{}.{}.{}", i / 250, i % 250, e)};
      slice->endpoints.push_back(endpoint);
    }
    cluster.slices.push_back(slice);
  }
  return cluster;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

nlohmann::json measure(int count, int rounds) {
  Cluster cluster = make_cluster(count);
  kube::Store<kube::Service> services;
  kube::Store<kube::EndpointSlice> slices;
  for (const auto& service : cluster.services) services.upsert(service);
  for (const auto& slice : cluster.slices) slices.upsert(slice);
  const auto pool = *berth::ports::PortRangeSet::parse("20000-31999");
  const ModelBuilder builder(berth::controller::AnnotationConfig{}, pool);
  const ModelBuilder from_lists(berth::controller::AnnotationConfig{}, pool);
  const ModelBuilder from_stores(berth::controller::AnnotationConfig{}, pool);
  auto start = std::chrono::steady_clock::now();
  std::size_t listeners = builder.build(cluster.services, cluster.slices, {})->model.listeners.size();
  const double first_ms = ms_since(start);
  from_lists.build(services.list(), slices.list(), {});
  from_stores.build(services, slices, {});

  std::vector<double> after_one_change;
  std::vector<double> list_after_one_change;
  std::vector<double> store_after_one_change;
  for (int round = 0; round < rounds; ++round) {
    // What a sync after one user edit sees: one Service replaced by a changed copy.
    const std::size_t at = static_cast<std::size_t>(round * 7919) % cluster.services.size();
    auto changed = std::make_shared<kube::Service>(*cluster.services[at]);
    changed->meta.resource_version = fmt::format("{}", round + 2);
    changed->meta.annotations["haproxy-ingress/maxconn"] = fmt::format("{}", 10 + round);
    cluster.services[at] = changed;
    services.upsert(changed);
    // Each result is released before the next build, as the sync loop does, so it is patched in place.
    start = std::chrono::steady_clock::now();
    listeners = builder.build(cluster.services, cluster.slices, {})->model.listeners.size();
    after_one_change.push_back(ms_since(start));
    start = std::chrono::steady_clock::now();
    from_lists.build(services.list(), slices.list(), {});
    list_after_one_change.push_back(ms_since(start));
    start = std::chrono::steady_clock::now();
    from_stores.build(services, slices, {});
    store_after_one_change.push_back(ms_since(start));
  }
  auto ms = [](double value) { return berth::bench::round3(value); };
  return {{"bench", "model_builder"},
          {"services", count},
          {"listeners", listeners},
          {"first_build_ms", ms(first_ms)},
          {"build_after_one_change_p50_ms", ms(berth::bench::percentile(after_one_change, 0.5))},
          {"build_after_one_change_max_ms", ms(*std::ranges::max_element(after_one_change))},
          {"list_build_after_one_change_p50_ms", ms(berth::bench::percentile(list_after_one_change, 0.5))},
          {"list_build_after_one_change_max_ms", ms(*std::ranges::max_element(list_after_one_change))},
          {"store_build_after_one_change_p50_ms", ms(berth::bench::percentile(store_after_one_change, 0.5))},
          {"store_build_after_one_change_max_ms", ms(*std::ranges::max_element(store_after_one_change))},
          {"rounds", rounds}};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {1'000, 10'000};
  int rounds = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--services") {
      sizes = {std::stoi(argv[i + 1])};
    } else if (flag == "--rounds") {
      rounds = std::max(1, std::stoi(argv[i + 1]));
    } else {
      std::fprintf(stderr, "usage: model_builder_bench [--services N] [--rounds R]\n");
      return 2;
    }
  }
  for (int count : sizes) std::printf("%s\n", measure(count, rounds).dump().c_str());
  return 0;
}
