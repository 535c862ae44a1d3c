// Short constructors for the HAProxy model's values in table tests. They abort on bad input
// (value() / operator* of an empty Result), which is what a typo in a test table deserves.
#pragma once

#include <string>
#include <string_view>

#include "haproxy/ip_address.h"
#include "haproxy/model.h"

namespace berth::haproxy {

inline IpAddress ip(std::string_view text) { return IpAddress::parse(text).value(); }
inline Cidr cidr(std::string_view text) { return Cidr::parse(text).value(); }
inline Server server(std::string_view address, int port) { return Server{ip(address), port}; }

inline bool contains(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

}  // namespace berth::haproxy
