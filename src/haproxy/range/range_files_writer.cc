#include "haproxy/range/range_files_writer.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "common/atomic_file.h"
#include "haproxy/apply_steps.h"
#include "haproxy/driver.h"
#include "haproxy/range/range_config.h"

namespace berth::haproxy {

RangeFilesWriter::RangeFilesWriter(RangeFiles files, std::filesystem::path config,
                                   std::function<std::optional<RangeFilesSnapshot>()> take,
                                   std::shared_ptr<spdlog::logger> log)
    : files_(std::move(files)),
      config_(std::move(config)),
      take_(std::move(take)),
      log_(std::move(log)),
      thread_([this](std::stop_token stop) { run(stop); }) {}

RangeFilesWriter::~RangeFilesWriter() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void RangeFilesWriter::request() {
  {
    std::lock_guard lock(mu_);
    ++requested_;
  }
  changed_.notify_all();
}

void RangeFilesWriter::flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = requested_;
  changed_.wait(lock, [&] { return done_ >= target; });
}

std::uint64_t RangeFilesWriter::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

void RangeFilesWriter::run(std::stop_token stop) {
  for (;;) {
    std::uint64_t target = 0;
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, stop, [&] { return requested_ > done_; });
      // Stopping: what was asked for is still written, so the files match what runs.
      if (requested_ == done_) return;
      target = requested_;
    }
    // The snapshot is taken after the count: a request made while it is written is done by
    // the next round, which takes the state again.
    bool wrote = false;
    if (auto snapshot = take_()) {
      write(*snapshot);
      wrote = true;
    }
    {
      std::lock_guard lock(mu_);
      done_ = target;
      if (wrote) ++writes_;
    }
    changed_.notify_all();
  }
}

void RangeFilesWriter::write(const RangeFilesSnapshot& snapshot) {
  const auto started = std::chrono::steady_clock::now();
  if (auto ok = write_range_files(files_, snapshot.state, snapshot.acl_backends, false); !ok) {
    log_->warn("the maps could not be rewritten after a runtime update: {}", ok.error().describe());
  }
  // HAProxy 2.6 restores a server's port from the state file but not its address (haproxy
  // issue #3265: only servers with a hostname get it back), so the config itself must name
  // every route's servers for a reload or restart by anyone else to send traffic right.
  const std::string text = render_range_config(snapshot.global, snapshot.state, files_);
  if (auto ok = write_file_atomically(config_, text, 0600); !ok) {
    log_->warn("haproxy.cfg could not be rewritten after a runtime update: {}", ok.error().describe());
  } else {
    write_file_atomically(sibling(config_, ".applied"), config_hash(text), 0600);
  }
  if (snapshot.server_state && !snapshot.global.server_state_file.empty()) {
    if (auto ok = write_file_atomically(snapshot.global.server_state_file, *snapshot.server_state, 0600); !ok) {
      log_->warn("the server state could not be saved after a runtime update: {}", ok.error().describe());
    }
  }
  log_->debug("range files written behind routes={} files_ms={:.1f}", snapshot.state.routes.size(),
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace berth::haproxy
