#include "kube-sim/token_set.h"

#include <array>
#include <cctype>
#include <cstdlib>

#include <openssl/rand.h>

namespace berth::kubesim {

TokenSet::TokenSet(std::string initial) { tokens_.insert(std::move(initial)); }

void TokenSet::add(std::string token) {
  std::lock_guard lock(mu_);
  tokens_.insert(std::move(token));
}

bool TokenSet::remove(std::string_view token) {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return false;
  tokens_.erase(it);
  return true;
}

bool TokenSet::authorizes(std::string_view header) const {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size()) return false;
  // The scheme is case-insensitive (RFC 7235); the token is not.
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return false;
    }
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\r')) token.remove_suffix(1);
  if (token.empty()) return false;
  std::lock_guard lock(mu_);
  return tokens_.contains(token);
}

std::size_t TokenSet::size() const {
  std::lock_guard lock(mu_);
  return tokens_.size();
}

std::string random_token() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // The CSPRNG failing means the process cannot make any secret; nothing sensible remains.
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace berth::kubesim
