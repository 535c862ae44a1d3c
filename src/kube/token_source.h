// The bearer token for API requests, kept current when it lives in a file.
//
// Projected service-account tokens are rotated by the kubelet (about hourly) by swapping the
// file. TokenSource notices: each token() call compares the file's mtime and size with the last
// read (a stat, cheap next to an HTTPS request), and re-reads the content anyway once
// `reread_interval` has passed on the injected Clock, for file systems whose mtime is too coarse
// to see a same-size rewrite. refresh() re-reads at once; RestClient calls it after a 401.
//
// A fixed token (or none: anonymous) never changes.
//
// Errors: token() fails (kIo) only when the file has never been read successfully; after that a
// failed re-read keeps the last good token and logs a warning (without the token).
//
// Thread-safety: all members may be called from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/error.h"
#include "kube/kube_config.h"

namespace berth::kube {

class TokenSource {
 public:
  // A fixed token; "" means anonymous requests.
  explicit TokenSource(std::string token);
  // A token file, read on first use.
  TokenSource(std::filesystem::path file, Clock& clock,
              Clock::duration reread_interval = std::chrono::seconds(60));

  // The token file of `config` if it has one (client-go's precedence), else its token.
  static std::unique_ptr<TokenSource> from_config(const KubeConfig& config, Clock& clock);

  TokenSource(const TokenSource&) = delete;
  TokenSource& operator=(const TokenSource&) = delete;

  // The current token ("" for anonymous).
  Result<std::string> token();
  // Re-reads the file now (no-op for a fixed token).
  Result<void> refresh();
  // How many times the file content was read (for tests and metrics).
  int reads() const;

 private:
  Result<void> read_locked();

  const std::optional<std::filesystem::path> file_;
  Clock* const clock_;
  const Clock::duration reread_interval_;

  mutable std::mutex mu_;
  std::string token_;                               // guarded by mu_
  bool have_token_ = false;                         // guarded by mu_
  std::filesystem::file_time_type mtime_{};         // guarded by mu_
  std::uintmax_t size_ = 0;                         // guarded by mu_
  Clock::time_point last_read_{};                   // guarded by mu_
  int reads_ = 0;                                   // guarded by mu_
};

}  // namespace berth::kube
