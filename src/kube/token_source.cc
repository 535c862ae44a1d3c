#include "kube/token_source.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/log.h"

namespace berth::kube {

namespace fs = std::filesystem;

TokenSource::TokenSource(std::string token)
    : clock_(nullptr), reread_interval_(0), token_(std::move(token)), have_token_(true) {}

TokenSource::TokenSource(fs::path file, Clock& clock, Clock::duration reread_interval)
    : file_(std::move(file)), clock_(&clock), reread_interval_(reread_interval) {}

std::unique_ptr<TokenSource> TokenSource::from_config(const KubeConfig& config, Clock& clock) {
  if (config.token_file.empty()) return std::make_unique<TokenSource>(config.token);
  return std::make_unique<TokenSource>(fs::path(config.token_file), clock);
}

Result<void> TokenSource::read_locked() {
  std::error_code ec;
  auto mtime = fs::last_write_time(*file_, ec);
  auto size = ec ? 0 : fs::file_size(*file_, ec);
  std::ifstream in(*file_, std::ios::binary);
  if (ec || !in) return make_error(ErrorCode::kIo, fmt::format("cannot read token file {}", file_->string()));
  std::ostringstream out;
  out << in.rdbuf();
  std::string token = out.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  ++reads_;
  last_read_ = clock_->now();
  mtime_ = mtime;
  size_ = size;
  if (have_token_ && token != token_) logger("kube-client")->info("bearer token file changed file={}", file_->string());
  token_ = std::move(token);
  have_token_ = true;
  return {};
}

Result<std::string> TokenSource::token() {
  std::lock_guard lock(mu_);
  if (!file_) return token_;
  bool stale = !have_token_ || clock_->now() - last_read_ >= reread_interval_;
  if (!stale) {
    std::error_code ec;
    auto mtime = fs::last_write_time(*file_, ec);
    auto size = ec ? 0 : fs::file_size(*file_, ec);
    stale = !ec && (mtime != mtime_ || size != size_);
  }
  if (stale) {
    auto r = read_locked();
    if (!r) {
      if (!have_token_) return std::unexpected(r.error());
      // Keep serving the last good token; the API server tolerates it for a while after rotation.
      logger("kube-client")->warn("{}; keeping the previous token", r.error().message);
      last_read_ = clock_->now();
    }
  }
  return token_;
}

Result<void> TokenSource::refresh() {
  std::lock_guard lock(mu_);
  if (!file_) return {};
  return read_locked();
}

int TokenSource::reads() const {
  std::lock_guard lock(mu_);
  return reads_;
}

}  // namespace berth::kube
