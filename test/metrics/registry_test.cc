// The Prometheus registry: exact exposition text, label escaping, histogram buckets, name
// checks, and concurrent updates that lose nothing.
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace berth::metrics {
namespace {

TEST(Registry, RendersCountersAndGaugesInNameAndLabelOrder) {
  Registry r;
  auto& reloads = r.counter("berth_haproxy_reloads_total", "HAProxy reloads by result.", {"result"});
  r.gauge("berth_leader", "1 while this replica holds the Lease.").with({}).set(1);
  reloads.with({"success"}).inc();
  reloads.with({"success"}).inc(2);
  reloads.with({"failure"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP berth_haproxy_reloads_total HAProxy reloads by result.\n"
            "# TYPE berth_haproxy_reloads_total counter\n"
            "berth_haproxy_reloads_total{result=\"failure\"} 1\n"
            "berth_haproxy_reloads_total{result=\"success\"} 3\n"
            "# HELP berth_leader 1 while this replica holds the Lease.\n"
            "# TYPE berth_leader gauge\n"
            "berth_leader 1\n");
}

TEST(Registry, AFamilyWithNoChildYetShowsOnlyItsHeader) {
  Registry r;
  r.counter("berth_api_errors_total", "API errors by code.", {"code"});
  EXPECT_EQ(r.render(), "# HELP berth_api_errors_total API errors by code.\n# TYPE berth_api_errors_total counter\n");
}

TEST(Registry, RetainDropsTheChildrenThatNoLongerExist) {
  Registry registry;
  auto& info = registry.gauge("berth_listener_info", "A listener.", {"proxy"});
  info.with({"p1"}).set(1);
  info.with({"p2"}).set(1);
  info.with({"p3"}).set(1);
  info.retain({{"p1"}, {"p3"}});
  EXPECT_EQ(registry.render(),
            "# HELP berth_listener_info A listener.\n# TYPE berth_listener_info gauge\n"
            "berth_listener_info{proxy=\"p1\"} 1\nberth_listener_info{proxy=\"p3\"} 1\n");
  info.retain({});
  EXPECT_EQ(registry.render(), "# HELP berth_listener_info A listener.\n# TYPE berth_listener_info gauge\n");
}

TEST(Registry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.histogram("berth_reload_seconds", "Reload time.", {"reason"}, {0.1, 0.5, 1});
  for (double v : {0.05, 0.1, 0.3, 0.7, 3.0}) h.with({"listener"}).observe(v);
  EXPECT_EQ(r.render(),
            "# HELP berth_reload_seconds Reload time.\n"
            "# TYPE berth_reload_seconds histogram\n"
            "berth_reload_seconds_bucket{reason=\"listener\",le=\"0.1\"} 2\n"
            "berth_reload_seconds_bucket{reason=\"listener\",le=\"0.5\"} 3\n"
            "berth_reload_seconds_bucket{reason=\"listener\",le=\"1\"} 4\n"
            "berth_reload_seconds_bucket{reason=\"listener\",le=\"+Inf\"} 5\n"
            "berth_reload_seconds_sum{reason=\"listener\"} 4.15\n"
            "berth_reload_seconds_count{reason=\"listener\"} 5\n");
}

TEST(Registry, HostileLabelValuesAreEscapedAndCannotAddALine) {
  Registry r;
  r.gauge("berth_service_sessions", "Sessions.", {"service"}).with({"a\"}\nevil_metric 1\\"}).set(2);
  const std::string text = r.render();
  EXPECT_NE(text.find("berth_service_sessions{service=\"a\\\"}\\nevil_metric 1\\\\\"} 2\n"), std::string::npos) << text;
  // Three lines: HELP, TYPE, the sample.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  EXPECT_EQ(escape_label_value("plain"), "plain");
}

TEST(Registry, HelpTextIsEscaped) {
  Registry r;
  r.counter("berth_x_total", "line one\nline two \\ end");
  EXPECT_EQ(r.render().substr(0, r.render().find('\n') + 1), "# HELP berth_x_total line one\\nline two \\\\ end\n");
}

TEST(Registry, SampleValuesAreFormattedAsPrometheusExpects) {
  EXPECT_EQ(format_sample_value(3), "3");
  EXPECT_EQ(format_sample_value(-2), "-2");
  EXPECT_EQ(format_sample_value(0.25), "0.25");
  EXPECT_EQ(format_sample_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_sample_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_sample_value(std::nan("")), "NaN");
  EXPECT_EQ(format_sample_value(1e20), "1e+20");
}

TEST(Registry, CollectorsRunBeforeEachRender) {
  Registry r;
  auto& pool = r.gauge("berth_pool_ports", "Ports by state.", {"state"});
  auto& syncs = r.counter("berth_syncs_total", "Syncs.");
  int source = 0;
  r.add_collector([&] {
    pool.with({"free"}).set(100 - source);
    syncs.with({}).mirror(source);
  });
  source = 3;
  EXPECT_NE(r.render().find("berth_pool_ports{state=\"free\"} 97\n"), std::string::npos);
  source = 5;
  const auto text = r.render();
  EXPECT_NE(text.find("berth_pool_ports{state=\"free\"} 95\n"), std::string::npos) << text;
  EXPECT_NE(text.find("berth_syncs_total 5\n"), std::string::npos) << text;
}

TEST(Registry, ACounterNeverGoesDown) {
  Counter c;
  c.inc(2);
  c.inc(-1);
  c.inc(std::nan(""));
  EXPECT_EQ(c.value(), 2);
  Gauge g;
  g.inc(5);
  g.dec(7);
  EXPECT_EQ(g.value(), -2);
}

TEST(Registry, BadNamesAndConflictingDefinitionsAreRejectedAtRegistration) {
  Registry r;
  EXPECT_THROW(r.counter("9starts_with_digit", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "x", {"bad:label"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "x", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "x", {}, {1, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "x", {}, {2, 1}), std::invalid_argument);
  auto& first = r.counter("berth_same_total", "help", {"a"});
  EXPECT_EQ(&r.counter("berth_same_total", "help", {"a"}), &first) << "the same definition gives the same family";
  EXPECT_THROW(r.gauge("berth_same_total", "help", {"a"}), std::invalid_argument);
  EXPECT_THROW(r.counter("berth_same_total", "other help", {"a"}), std::invalid_argument);
  EXPECT_THROW(r.counter("berth_same_total", "help", {"b"}), std::invalid_argument);
  EXPECT_THROW(first.with({}), std::invalid_argument);
  EXPECT_THROW(first.with({"x", "y"}), std::invalid_argument);
}

TEST(Registry, ConcurrentUpdatesLoseNothing) {
  Registry r;
  auto& counter = r.counter("berth_c_total", "c", {"t"});
  auto& hist = r.histogram("berth_h", "h", {}, {0.5});
  constexpr int kThreads = 4, kEach = 20000;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          counter.with({t % 2 == 0 ? "even" : "odd"}).inc();
          hist.with({}).observe(i % 2 == 0 ? 0.25 : 1.0);
          if (i % 1000 == 0) (void)r.render();  // scrapes while updating
        }
      });
    }
  }
  EXPECT_EQ(counter.with({"even"}).value(), 2.0 * kEach);
  EXPECT_EQ(counter.with({"odd"}).value(), 2.0 * kEach);
  const auto s = hist.with({}).snapshot();
  EXPECT_EQ(s.count, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_EQ(s.cumulative.at(0), static_cast<std::uint64_t>(kThreads * kEach / 2));
  EXPECT_DOUBLE_EQ(s.sum, kThreads * kEach / 2 * 0.25 + kThreads * kEach / 2 * 1.0);
}

}  // namespace
}  // namespace berth::metrics
