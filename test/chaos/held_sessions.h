// The tenants who must never notice the chaos: sessions held open through HAProxy, on every
// load balancer, to Services the churn never touches. Each session is an EchoServer
// connection whose greeting named the right backend; check() sends a line through each one
// still open and expects it back unchanged. A session that fails once is counted as cut and
// not used again.
//
// Thread-safety: one thread uses an instance.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/echo_server.h"

namespace berth::chaos {

class HeldSessions {
 public:
  // Opens `count` sessions to `address:host_port`, each greeted by `backend`. The error names
  // the one that failed.
  Result<void> open(const std::string& address, int host_port, const std::string& backend, int count);
  // Round-trips a line through every session not yet cut; returns how many were cut now.
  int check();

  int held() const { return static_cast<int>(sessions_.size()); }
  int cut() const { return cut_; }
  const std::vector<std::string>& cut_sessions() const { return cut_names_; }

 private:
  struct Session {
    std::string name;  // "127.0.1.1:22001 stable-0 #2"
    std::unique_ptr<testing::TcpClient> client;
    int round_trips = 0;
  };
  std::vector<Session> sessions_;
  int cut_ = 0;
  std::vector<std::string> cut_names_;
};

}  // namespace berth::chaos
