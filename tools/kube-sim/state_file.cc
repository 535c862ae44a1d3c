#include "kube-sim/state_file.h"

#include "common/log.h"
#include "common/atomic_file.h"

namespace berth::kubesim {

Result<std::optional<nlohmann::json>> read_state_file(const std::filesystem::path& path) {
  auto text = read_whole_file(path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return std::optional<nlohmann::json>{};
    return std::unexpected(text.error());
  }
  try {
    return std::optional<nlohmann::json>(nlohmann::json::parse(*text));
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kParse, "state file " + path.string() + ": " + e.what());
  }
}

Result<void> write_state_file(const std::filesystem::path& path, const nlohmann::json& state) {
  return write_file_atomically(path, state.dump() + "\n", 0600);
}

StateSaver::StateSaver(std::filesystem::path path, SnapshotFn snapshot, Clock& clock,
                       std::chrono::milliseconds interval)
    : path_(std::move(path)),
      snapshot_(std::move(snapshot)),
      clock_(clock),
      interval_(interval),
      thread_([this](std::stop_token stop) { run(stop); }) {}

StateSaver::~StateSaver() {
  thread_.request_stop();
  thread_.join();
}

void StateSaver::mark_dirty() {
  {
    std::lock_guard lock(mu_);
    dirty_ = true;
  }
  dirty_cv_.notify_all();
}

Result<void> StateSaver::flush() {
  std::lock_guard save_lock(save_mu_);
  {
    std::lock_guard lock(mu_);
    dirty_ = false;
  }
  return save_locked();
}

std::uint64_t StateSaver::saves() const {
  std::lock_guard lock(mu_);
  return saves_;
}

Result<void> StateSaver::save_locked() {
  auto ok = write_state_file(path_, snapshot_());
  if (ok) {
    std::lock_guard lock(mu_);
    ++saves_;
  }
  return ok;
}

void StateSaver::run(std::stop_token stop) {
  auto log = logger("kube-sim");
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mu_);
      if (!dirty_cv_.wait(lock, stop, [&] { return dirty_; })) return;
    }
    // Let a burst of writes land before saving once for all of them.
    if (!clock_.sleep_for(interval_, stop)) return;
    std::lock_guard save_lock(save_mu_);
    {
      std::lock_guard lock(mu_);
      if (!dirty_) continue;  // flush() saved in the meantime
      dirty_ = false;
    }
    if (auto ok = save_locked(); !ok) log->error("saving state failed: {}", ok.error().describe());
  }
}

}  // namespace berth::kubesim
