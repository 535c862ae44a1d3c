// RangeFilesWriter: range mode's files written behind the runtime updates, on a thread of their
// own. What it promises: flush() returns once the state asked for is on disk, a burst of
// requests during a write costs one more write (not one each), and the files of the last
// request are written before it goes.
#include "haproxy/range/range_files_writer.h"

#include <atomic>
#include <future>
#include <latch>

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "common/log.h"
#include "haproxy/apply_steps.h"
#include "haproxy/driver.h"
#include "haproxy/model_fixtures.h"
#include "haproxy/range/range_config.h"
#include "haproxy/range/range_plan.h"
#include "support/temp_dir.h"

namespace berth::haproxy {
namespace {

const RangePolicy kWriterPolicy{.chunk = 4, .min_servers = 2};

// The state after a start with one route per port.
RangeFilesSnapshot snapshot_routing(const RangeFiles& files, std::vector<int> ports) {
  std::vector<Listener> listeners;
  for (int port : ports) listeners.push_back(db_listener(port, {server("10.0.0.7", 3306)}));
  RangeFilesSnapshot snapshot;
  snapshot.global.server_state_file = files.acl_dir.parent_path() / "server-state";
  snapshot.state = plan_range_update(std::nullopt, routed_model(std::move(listeners)), kWriterPolicy, files).next;
  snapshot.server_state = "1\n# be_id be_name\n";
  return snapshot;
}

class RangeFilesWriterTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  RangeFiles files_ = RangeFiles::in(dir_.path());
  std::filesystem::path config_ = dir_.path() / "haproxy.cfg";
};

TEST_F(RangeFilesWriterTest, FlushReturnsOnceTheFilesShowTheStateAskedFor) {
  std::mutex mu;
  RangeFilesSnapshot now = snapshot_routing(files_, {20000});
  RangeFilesWriter writer(files_, config_, [&]() -> std::optional<RangeFilesSnapshot> {
    std::lock_guard lock(mu);
    return now;
  }, logger("haproxy"));
  for (auto ports : {std::vector<int>{20000, 20001}, std::vector<int>{20001}}) {
    {
      std::lock_guard lock(mu);
      now = snapshot_routing(files_, ports);
    }
    writer.request();
    writer.flush();
    EXPECT_EQ(read_whole_file(files_.ports_map).value_or("?"), ports_map_text(now.state));
    EXPECT_EQ(read_whole_file(files_.services_map).value_or("?"), services_map_text(now.state));
    const std::string config = render_range_config(now.global, now.state, files_);
    EXPECT_EQ(read_whole_file(config_).value_or("?"), config);
    EXPECT_EQ(read_whole_file(sibling(config_, ".applied")).value_or("?"), config_hash(config))
        << "a berth that starts again adopts only a config whose hash it wrote";
    EXPECT_EQ(read_whole_file(now.global.server_state_file).value_or("?"), *now.server_state);
  }
  EXPECT_EQ(writer.writes(), 2u);
}

TEST_F(RangeFilesWriterTest, RequestsMadeWhileAWriteRunsCostOneMoreWriteOfTheLatestState) {
  std::latch first_taken(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> takes = 0;
  std::atomic<int> ports = 1;
  RangeFilesWriter writer(files_, config_, [&]() -> std::optional<RangeFilesSnapshot> {
    if (takes.fetch_add(1) == 0) {
      first_taken.count_down();
      released.wait();  // holds the first write until the burst below is asked for
    }
    std::vector<int> routed;
    for (int i = 0; i < ports.load(); ++i) routed.push_back(20000 + i);
    return snapshot_routing(files_, routed);
  }, logger("haproxy"));
  writer.request();
  first_taken.wait();
  for (int i = 2; i <= 6; ++i) {
    ports = i;
    writer.request();
  }
  release.set_value();
  writer.flush();
  EXPECT_EQ(writer.writes(), 2u) << "five requests during one write: one more write";
  EXPECT_EQ(takes.load(), 2);
  EXPECT_EQ(read_whole_file(files_.ports_map).value_or("?"), ports_map_text(snapshot_routing(files_, {20000, 20001, 20002, 20003, 20004, 20005}).state));
}

TEST_F(RangeFilesWriterTest, WhatWasAskedForIsWrittenBeforeTheWriterGoesAndNothingWhenThereIsNoState) {
  bool state = false;
  {
    RangeFilesWriter writer(files_, config_, [&]() -> std::optional<RangeFilesSnapshot> {
      if (!state) return std::nullopt;
      return snapshot_routing(files_, {20000});
    }, logger("haproxy"));
    writer.request();
    writer.flush();
    EXPECT_EQ(writer.writes(), 0u);
    EXPECT_FALSE(std::filesystem::exists(config_));
    state = true;  // the writer is idle: flush() returned and nothing is asked for
    writer.request();
  }
  EXPECT_EQ(read_whole_file(files_.ports_map).value_or("?"), ports_map_text(snapshot_routing(files_, {20000}).state));
  EXPECT_TRUE(std::filesystem::exists(config_));
}

}  // namespace
}  // namespace berth::haproxy
