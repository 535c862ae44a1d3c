// The bearer tokens kube-sim accepts. Starts with the token written into the kubeconfig; the
// admin endpoint adds and revokes tokens so tests can rotate a client's credentials.
//
// Thread-safety: every member is safe to call from any thread.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace berth::kubesim {

class TokenSet {
 public:
  explicit TokenSet(std::string initial);

  void add(std::string token);
  // Returns false when the token was not accepted before.
  bool remove(std::string_view token);

  // Whether an Authorization header value ("Bearer <token>") carries an accepted token.
  bool authorizes(std::string_view authorization_header) const;

  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> tokens_;  // guarded by mu_
};

// A random token: 32 hex characters from OpenSSL's CSPRNG.
std::string random_token();

}  // namespace berth::kubesim
