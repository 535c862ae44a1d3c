// Prometheus metrics: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4) that Prometheus scrapes from /metrics.
//
//   Registry registry;
//   auto& reloads = registry.counter("berth_haproxy_reloads_total", "HAProxy reloads by result.", {"result"});
//   reloads.with({"success"}).inc();
//   auto& took = registry.histogram("berth_haproxy_reload_duration_seconds", "...", {}, {0.1, 0.5, 1, 5});
//   took.with({}).observe(0.23);
//   registry.render();   // "# HELP ...\n# TYPE ...\nberth_haproxy_reloads_total{result=\"success\"} 1\n..."
//
// Names follow Prometheus' rules (metric [a-zA-Z_:][a-zA-Z0-9_:]*, label [a-zA-Z_][a-zA-Z0-9_]*,
// no label starting with "__"); a bad name, a name registered twice with another type, help or
// labels, or with() given the wrong number of values is a programming error and throws
// std::invalid_argument at startup, never at scrape time. Label values are escaped (\\, \", \n),
// so a Service name in a label can never break the exposition.
//
// Output is deterministic: families by name, children by label values, histogram buckets in
// ascending order with "+Inf" last.
//
// Thread-safety: every member may be called from any thread. with() returns a reference that
// stays valid for the registry's lifetime; updates on it are lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace berth::metrics {

class Counter {
 public:
  // `amount` must be ≥ 0 (a counter only goes up); a negative amount is ignored.
  void inc(double amount = 1);
  // For a collector that mirrors a count kept elsewhere (a component's stats): the source only
  // grows, so the counter does too.
  void mirror(double total) { value_.store(total, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1);
  void dec(double amount = 1) { inc(-amount); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the upper bounds of the buckets, strictly ascending and finite.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // per bound: observations ≤ it
    std::uint64_t count = 0;
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> buckets_;  // per bound, not cumulative; last: above all
  std::atomic<double> sum_{0};
};

// The children of one metric name, one per combination of label values.
template <typename Metric>
class Family {
 public:
  Family(std::vector<std::string> label_names, std::vector<double> bounds = {})
      : label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

  // The child for these label values (in the order of the label names), made on first use.
  // Throws std::invalid_argument when the count differs from the label names'.
  Metric& with(const std::vector<std::string>& label_values);

  const std::vector<std::string>& label_names() const { return label_names_; }

  // Removes the children whose label values are not in `keep`. For collectors that derive every
  // child of a family from current state at each scrape (one child per served listener): set
  // the children in `keep` first, then retain, so a concurrent scrape never sees them missing.
  // A reference to a removed child must not be used again.
  void retain(const std::set<std::vector<std::string>>& keep);

  // Calls visit(label_values, metric) for each child, in label-value order.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    std::lock_guard lock(mu_);
    for (const auto& [values, metric] : children_) visit(values, *metric);
  }

 private:
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

class Registry {
 public:
  Family<Counter>& counter(std::string_view name, std::string_view help, std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(std::string_view name, std::string_view help, std::vector<std::string> label_names,
                               std::vector<double> bounds);

  // Runs at the start of every render(), before anything is written: sets gauges and mirrors
  // counters from state that components keep themselves (pool counts, cache sizes).
  void add_collector(std::function<void()> collect);

  // The text exposition of every family registered so far.
  std::string render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Entry {
    Type type;
    std::string help;
    std::unique_ptr<Family<Counter>> counters;
    std::unique_ptr<Family<Gauge>> gauges;
    std::unique_ptr<Family<Histogram>> histograms;
  };
  Entry& entry(std::string_view name, Type type, std::string_view help, const std::vector<std::string>& label_names,
               const std::vector<double>& bounds);

  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
  mutable std::mutex collectors_mu_;  // held while collectors run: one scrape collects at a time
  std::vector<std::function<void()>> collectors_;
};

// Exposition helpers, exposed for tests: a label value escaped, and a sample value as
// Prometheus writes it ("+Inf", "-Inf", "NaN", integers without a fraction).
std::string escape_label_value(std::string_view value);
std::string format_sample_value(double value);

}  // namespace berth::metrics
