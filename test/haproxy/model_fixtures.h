// Short constructors for the HAProxy model's values in table tests. They abort on bad input
// (value() / operator* of an empty Result), which is what a typo in a test table deserves.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "haproxy/ip_address.h"
#include "haproxy/model.h"

namespace berth::haproxy {

inline IpAddress ip(std::string_view text) { return IpAddress::parse(text).value(); }
inline Cidr cidr(std::string_view text) { return Cidr::parse(text).value(); }
inline Server server(std::string_view address, int port) { return Server{ip(address), port}; }

// The listener of Service tenant/db<host_port>:3306, its servers sorted as the ModelBuilder
// hands them over. (Named apart from the `listener()` helpers some test files keep: unity
// builds put several test files in one translation unit.)
inline Listener db_listener(int host_port, std::vector<Server> servers, BackendOptions options = {}) {
  std::sort(servers.begin(), servers.end());
  return Listener{.host_port = host_port,
                  .service = ServiceRef{.ns = "tenant", .name = "db" + std::to_string(host_port), .port = 3306},
                  .options = std::move(options),
                  .servers = std::move(servers)};
}

inline Model routed_model(std::vector<Listener> listeners) {
  Model m;
  for (auto& l : listeners) m.listeners[l.host_port] = std::move(l);
  return m;
}

inline bool contains(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

}  // namespace berth::haproxy
