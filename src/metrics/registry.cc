#include "metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace berth::metrics {
namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  auto ok = [&](char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
    if (allow_colon && c == ':') return true;
    return !first && c >= '0' && c <= '9';
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!ok(name[i], i == 0)) return false;
  }
  return true;
}

// Backslash and newline escaped (help text), and the double quote too (label values), as the
// exposition format asks.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

void add_atomic(std::atomic<double>& target, double amount) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
  }
}

// {a="x",b="y"} with `extra` (the histogram's le) last; "" when there are no labels at all.
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", names[i], escape_label_value(values[i]));
  }
  if (!extra_name.empty()) out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", extra_name, extra_value);
  return out.empty() ? out : "{" + out + "}";
}

}  // namespace

void Counter::inc(double amount) {
  if (!(amount >= 0)) return;  // also NaN
  add_atomic(value_, amount);
}

void Gauge::inc(double amount) { add_atomic(value_, amount); }

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly ascending");
    }
  }
}

void Histogram::observe(double value) {
  // The first bucket whose bound is ≥ value; above all bounds: the last (+Inf) one.
  const auto index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  add_atomic(sum_, value);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // The count is the buckets' total, so "+Inf" (= count) is never below a finite bucket even
  // while observe() runs on other threads; the sum may lag an observation behind.
  s.count = running + buckets_.back().load(std::memory_order_relaxed);
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    throw std::invalid_argument(
        fmt::format("{} label values for {} label names", label_values.size(), label_names_.size()));
  }
  std::lock_guard lock(mu_);
  auto& child = children_[label_values];
  if (!child) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<Metric>();
    }
  }
  return *child;
}

template <typename Metric>
void Family<Metric>::retain(const std::set<std::vector<std::string>>& keep) {
  std::lock_guard lock(mu_);
  std::erase_if(children_, [&](const auto& child) { return !keep.contains(child.first); });
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Entry& Registry::entry(std::string_view name, Type type, std::string_view help,
                                 const std::vector<std::string>& label_names, const std::vector<double>& bounds) {
  if (!valid_name(name, true)) throw std::invalid_argument(fmt::format("invalid metric name '{}'", name));
  for (const auto& label : label_names) {
    if (!valid_name(label, false) || label.starts_with("__") || label == "le") {
      throw std::invalid_argument(fmt::format("invalid label name '{}' on {}", label, name));
    }
  }
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(name); it != entries_.end()) {
    const Entry& e = it->second;
    const auto& existing_labels = e.counters     ? e.counters->label_names()
                                  : e.gauges     ? e.gauges->label_names()
                                                 : e.histograms->label_names();
    if (e.type != type || e.help != help || existing_labels != label_names) {
      throw std::invalid_argument(fmt::format("metric {} registered twice with different definitions", name));
    }
    return it->second;
  }
  Entry e{.type = type, .help = std::string(help), .counters = nullptr, .gauges = nullptr, .histograms = nullptr};
  switch (type) {
    case Type::kCounter:
      e.counters = std::make_unique<Family<Counter>>(label_names);
      break;
    case Type::kGauge:
      e.gauges = std::make_unique<Family<Gauge>>(label_names);
      break;
    case Type::kHistogram:
      Histogram check(bounds);  // throws on bad bounds now, not at the first with()
      e.histograms = std::make_unique<Family<Histogram>>(label_names, bounds);
      break;
  }
  return entries_.emplace(std::string(name), std::move(e)).first->second;
}

Family<Counter>& Registry::counter(std::string_view name, std::string_view help, std::vector<std::string> label_names) {
  return *entry(name, Type::kCounter, help, label_names, {}).counters;
}

Family<Gauge>& Registry::gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names) {
  return *entry(name, Type::kGauge, help, label_names, {}).gauges;
}

Family<Histogram>& Registry::histogram(std::string_view name, std::string_view help,
                                       std::vector<std::string> label_names, std::vector<double> bounds) {
  return *entry(name, Type::kHistogram, help, label_names, bounds).histograms;
}

void Registry::add_collector(std::function<void()> collect) {
  std::lock_guard lock(collectors_mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::render() const {
  {
    std::lock_guard collecting(collectors_mu_);
    for (const auto& collect : collectors_) collect();
  }
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, e] : entries_) {
    static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape(e.help, false), name,
                       kTypeNames[static_cast<int>(e.type)]);
    if (e.counters) {
      e.counters->for_each([&](const std::vector<std::string>& values, const Counter& c) {
        out += fmt::format("{}{} {}\n", name, label_set(e.counters->label_names(), values), format_sample_value(c.value()));
      });
    } else if (e.gauges) {
      e.gauges->for_each([&](const std::vector<std::string>& values, const Gauge& g) {
        out += fmt::format("{}{} {}\n", name, label_set(e.gauges->label_names(), values), format_sample_value(g.value()));
      });
    } else {
      const auto& labels = e.histograms->label_names();
      e.histograms->for_each([&](const std::vector<std::string>& values, const Histogram& h) {
        const auto s = h.snapshot();
        for (std::size_t i = 0; i < s.bounds.size(); ++i) {
          out += fmt::format("{}_bucket{} {}\n", name, label_set(labels, values, "le", format_sample_value(s.bounds[i])),
                             s.cumulative[i]);
        }
        out += fmt::format("{}_bucket{} {}\n", name, label_set(labels, values, "le", "+Inf"), s.count);
        out += fmt::format("{}_sum{} {}\n", name, label_set(labels, values), format_sample_value(s.sum));
        out += fmt::format("{}_count{} {}\n", name, label_set(labels, values), s.count);
      });
    }
  }
  return out;
}

std::string escape_label_value(std::string_view value) { return escape(value, true); }

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<long long>(value));
  return fmt::format("{}", value);  // shortest round-trip form
}

}  // namespace berth::metrics
