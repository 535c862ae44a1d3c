// ClusterIP allocation from the service CIDR (IPv4 only), like kube-apiserver's ipallocator:
// unique addresses, never handed out twice while allocated, released when the Service goes.
// The network address, the broadcast address and the first host address (kube-apiserver keeps
// it for the `kubernetes` Service) are never allocated.
//
// Thread-safety: none; ObjectStore guards it with its mutex.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth::kubesim {

class ClusterIpAllocator {
 public:
  // kInvalidArgument for a CIDR that is not an IPv4 a.b.c.d/n with 8 <= n <= 30.
  static Result<ClusterIpAllocator> create(std::string_view cidr);

  // The next free address, scanning round-robin from the last one handed out so that a
  // released address is not reused at once. kServerError (500) when the range is full.
  Result<std::string> allocate();
  // A specific address asked for by the client. kInvalid (422) when malformed, out of range
  // or already allocated; the message is the field error text.
  Result<void> reserve(std::string_view ip);
  void release(std::string_view ip);
  bool allocated(std::string_view ip) const;
  void clear() { used_.clear(); }

  std::string_view cidr() const { return cidr_; }
  std::size_t size() const { return used_.size(); }

 private:
  ClusterIpAllocator() = default;
  static bool parse_ip(std::string_view s, std::uint32_t& out);
  static std::string format_ip(std::uint32_t ip);

  std::string cidr_;
  std::uint32_t first_ = 0;  // lowest allocatable
  std::uint32_t last_ = 0;   // highest allocatable
  std::uint32_t next_ = 0;
  std::set<std::uint32_t> used_;
};

}  // namespace berth::kubesim
